// The experiment report panel (src/extension/panels/reportPanel.ts): the result data of `sbn experiment gradacc |
// train` (src/engine/experiments/types.ts), checked field by field by the host (src/report/data.ts). The page draws
// its strings as text, never as markup.

/** The report data as the protocol carries it (the page reads it as GradaccExperiment | TrainSuiteReport). */
export interface ExperimentReportPayload {
  format: 'sbn-experiment-gradacc' | 'sbn-experiment-train';
  version: number;
}

/** Host → the report page. */
export type ReportHostMessage = {
  type: 'report';
  data: ExperimentReportPayload;
  /** The result file's Uri: the page keeps it in its webview state, from which the panel is restored after a reload. */
  file?: string;
};
