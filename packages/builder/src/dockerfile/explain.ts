// From the engine's failure to a message a builder can act on: the Dockerfile line, what went wrong, and
// for a RUN step that reached for the network, that builds have none.
import { BuilderError } from '../errors.ts';
import type { EngineFailure } from './buildah.ts';
import { type DockerfileInstruction, findStep, type ParsedDockerfile } from './parse.ts';

/** What tools print when a name does not resolve or a network cannot be reached. */
const NETWORK_PATTERNS = [
  /bad address/i,
  /temporary failure in name resolution/i,
  /could not resolve/i,
  /name or service not known/i,
  /network is unreachable/i,
  /no route to host/i,
  /getaddrinfo/i,
  /\bEAI_AGAIN\b|\bENOTFOUND\b|\bENETUNREACH\b/,
  /no such host/i,
  /unable to resolve/i,
  /failed to fetch/i,
  /connection refused/i,
];

export interface ExplainContext {
  readonly parsed: ParsedDockerfile;
  /** Text to swap back in messages: private paths of the build → what the author wrote. */
  readonly replacements: readonly (readonly [string, string])[];
  readonly timeoutMs: number;
}

function clean(text: string, context: ExplainContext): string {
  let out = text.replace(/\s*&imagebuilder\.Step\{.*$/s, '').replace(/\+\(UNHANDLED LOGLEVEL\)\s*/g, '');
  for (const [from, to] of context.replacements) out = out.split(from).join(to);
  return out.length > 400 ? `${out.slice(0, 400)}…` : out;
}

const show = (ins: DockerfileInstruction) => {
  const text = `${ins.keyword} ${ins.args}`.trim();
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
};

function instructionOf(failure: EngineFailure, parsed: ParsedDockerfile): DockerfileInstruction | undefined {
  if (!failure.step) return undefined;
  return findStep(parsed, failure.step.stage, failure.step.step);
}

export function explainEngineFailure(failure: EngineFailure, context: ExplainContext): BuilderError {
  const ins = instructionOf(failure, context.parsed);
  const at = ins ? `Dockerfile line ${ins.line}: ${show(ins)}` : 'The Dockerfile';
  if (failure.timedOut) {
    return new BuilderError(
      'ERR_BUILDER_ENGINE',
      `${at}: the build exceeded its limit of ${Math.round(context.timeoutMs / 1000)} s and was stopped.`,
    );
  }
  const error = clean(failure.error, context);
  const stepError = /^building at STEP "[\s\S]*?": ([\s\S]*)$/.exec(error);
  if (ins?.keyword === 'RUN' && stepError && /^exit status \d+$/.test(stepError[1] as string)) {
    const network = failure.stepOutput.find((line) => NETWORK_PATTERNS.some((p) => p.test(line)));
    if (network !== undefined) {
      return new BuilderError(
        'ERR_BUILDER_RUN_FAILED',
        `${at}: the step needs the network (${clean(network.trim(), context)}), and builds have none. ` +
          'Put what it downloads in the build context or in a base image.',
      );
    }
    const last = failure.stepOutput.filter((l) => !/^subprocess exited/.test(l) && !l.startsWith('Error: ')).at(-1);
    return new BuilderError(
      'ERR_BUILDER_RUN_FAILED',
      `${at}: failed with ${stepError[1]}${last === undefined ? '' : ` (last output: ${clean(last.trim(), context)})`}. RUN steps have no network.`,
    );
  }
  if (stepError && ins)
    return new BuilderError('ERR_BUILDER_DOCKERFILE', `${at}: the engine rejected it: ${stepError[1]}`);
  const missing = /creating build container: ([\s\S]*): image not known/.exec(error);
  if (missing) return new BuilderError('ERR_BUILDER_BASE_IMAGE', `${at}: base image ${missing[1]} is not available.`);
  if (error !== '') {
    const line = /line (\d+)/i.exec(error)?.[1];
    if (ins || line !== undefined) {
      const where = ins ? at : `Dockerfile line ${line}`;
      return new BuilderError('ERR_BUILDER_DOCKERFILE', `${where}: the engine rejected it: ${error}`);
    }
    if (failure.step === undefined && failure.exitCode === 125) {
      return new BuilderError('ERR_BUILDER_DOCKERFILE', `The engine rejected the Dockerfile: ${error}`);
    }
    return new BuilderError('ERR_BUILDER_ENGINE', `The build engine failed: ${error}`);
  }
  return new BuilderError(
    'ERR_BUILDER_ENGINE',
    `The build engine stopped with exit code ${failure.exitCode ?? 'unknown'}.`,
  );
}
