// Workspace text (model names, layer names, file and folder names, run.json fields, messages that quote a model
// file) shown in VS Code surfaces that interpret markup. A cloned repository controls all of it, so it is shown as
// typed and can make no link, image or command there. No vscode import: test/unit/untrustedText.test.ts runs it.
//
// - Notifications (showInformationMessage & co., progress notifications) turn `[label](href)` into a link, and
//   `command:` hrefs run the command with the arguments in the link when clicked.
// - Markdown (hovers, tree tooltips) renders links, images — fetched from the network by the hover — emphasis,
//   HTML, headings and code spans.

/** Text for a notification: every `[label](target)` link broken up (`] (`), so nothing in it is clickable. */
export function notificationText(text: string): string {
  return text.replace(/\]\s*\(/g, '] (');
}

/**
 * Text for inline Markdown: line breaks become spaces (no block can start), every character that makes inline syntax
 * (links, images, code, emphasis, HTML, entities, tables) is escaped, and so is a leading list or heading marker.
 * Bare web addresses may still be shown as links to that address (never a command: untrusted MarkdownStrings run none).
 */
export function markdownText(text: string): string {
  return text
    .replace(/\r\n|[\r\n\u2028\u2029]/g, ' ')
    .replace(/[\\`*_{}[\]()#!|<>~&]/g, '\\$&')
    .replace(
      /^(\s*)([-+=]|\d+[.)])/,
      (_, space: string, marker: string) => `${space}${marker.replace(/[-+=.)]/, '\\$&')}`,
    );
}
