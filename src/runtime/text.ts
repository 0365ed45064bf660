// Small text helpers shared by every layer's messages: an error's message
// without its stack, and a cut that says it cut.

/** The message of anything thrown. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `text`, cut to at most `max` characters with an ellipsis when it was longer. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
