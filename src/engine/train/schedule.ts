// Learning-rate schedules over (fractional) epochs.
import type { LrSchedule } from '../spec/types';

export function learningRate(schedule: LrSchedule, epoch: number, totalEpochs: number): number {
  switch (schedule.schedule) {
    case 'constant':
      return schedule.base;
    case 'step':
      return schedule.base * schedule.gamma ** Math.floor(epoch / schedule.stepEpochs);
    case 'cosine': {
      const min = schedule.min ?? 0;
      const t = Math.min(1, epoch / Math.max(totalEpochs, 1e-12));
      return min + (schedule.base - min) * 0.5 * (1 + Math.cos(Math.PI * t));
    }
  }
}
