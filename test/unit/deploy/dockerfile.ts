// Reads a Dockerfile into instructions and build stages, enough to check how
// an image is built (base pinning, user, health check) without a Docker engine.

export interface DockerInstruction {
  /** Upper-cased keyword: FROM, RUN, COPY, ... */
  keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  args: string;
  /** 1-based line where the instruction starts. */
  line: number;
}

export interface BuildStage {
  /** The image or stage the stage starts FROM, without --platform. */
  base: string;
  /** `AS <name>`, if given. */
  name?: string;
  instructions: DockerInstruction[];
}

export function parseDockerfile(text: string): DockerInstruction[] {
  const instructions: DockerInstruction[] = [];
  const lines = text.split(/\r?\n/);
  let pending: { parts: string[]; line: number } | undefined;
  lines.forEach((raw, index) => {
    const trimmed = raw.trim();
    // Comments (and parser directives) are whole lines; they may sit inside a continuation.
    if (trimmed.startsWith('#') || (trimmed === '' && !pending)) return;
    const continues = trimmed.endsWith('\\');
    const content = continues ? trimmed.slice(0, -1).trim() : trimmed;
    if (pending) pending.parts.push(content);
    else pending = { parts: [content], line: index + 1 };
    if (!continues) {
      const joined = pending.parts.filter(Boolean).join(' ');
      const match = /^(\S+)\s*(.*)$/.exec(joined);
      if (match) instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]!, line: pending.line });
      pending = undefined;
    }
  });
  return instructions;
}

export function buildStages(instructions: DockerInstruction[]): BuildStage[] {
  const stages: BuildStage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const words = instruction.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const asIndex = words.findIndex((w) => w.toUpperCase() === 'AS');
      stages.push({
        base: words[0] ?? '',
        name: asIndex >= 0 ? words[asIndex + 1] : undefined,
        instructions: [],
      });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

/** The JSON-array (exec) form of CMD/ENTRYPOINT/HEALTHCHECK CMD, or undefined for shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.trim().startsWith('[')) return undefined;
  const parsed: unknown = JSON.parse(args);
  return Array.isArray(parsed) && parsed.every((p) => typeof p === 'string') ? parsed : undefined;
}
