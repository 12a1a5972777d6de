import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { setMainArgv } from './invocation.js';
import { describeError, guardStandardStreams, processIo, type Io } from './output.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

type CommandFactory = (io: Io, setExit: (code: number) => void) => Command;

/**
 * Each command's module, imported only when it runs: `kconv predict one.png` then never loads
 * fastify, the ONNX schema or the training code, which took most of its start-up (see README,
 * Performance). In the order `kconv --help` lists them.
 */
const COMMANDS: Record<string, () => Promise<CommandFactory>> = {
  check: async () => (await import('./check.js')).checkCommand,
  train: async () => (await import('./train.js')).trainCommand,
  predict: async () => (await import('./predict.js')).predictCommand,
  evaluate: async () => (await import('./predict.js')).evaluateCommand,
  export: async () => (await import('./export.js')).exportCommand,
  show: async () => (await import('./show.js')).showCommand,
  serve: async () => (await import('./serve.js')).serveCommand,
  info: async () => (await import('./info.js')).infoCommand,
  download: async () => (await import('./download.js')).downloadCommand,
};

/**
 * The commands `argv` needs: only the one it names when it starts with a command's name;
 * all of them otherwise (`kconv --help`, `kconv help x`, a mistyped name that wants suggestions).
 */
export function commandsFor(argv: string[]): string[] {
  const first = argv[2];
  return first !== undefined && Object.hasOwn(COMMANDS, first) ? [first] : Object.keys(COMMANDS);
}

/** Builds the commander program with the commands `argv` needs; each lives in its own file beside this one. */
export async function buildProgram(io: Io, setExit: (code: number) => void, argv: string[] = []): Promise<Command> {
  const factories = await Promise.all(commandsFor(argv).map((name) => COMMANDS[name]()));
  const program = new Command('kconv')
    .description('Train and use small convolutional neural networks on handwritten Kannada digits (Kannada-MNIST).')
    .version(pkg.version, '-V, --version', 'print the kconv version')
    .addHelpText('after', [
      '',
      'Examples:',
      '  $ kconv check                                   # the sanity test',
      '  $ kconv train ../shared/data/kannada/train.csv  # train the default net, save model.json',
      '  $ kconv predict ../shared/data/kannada/test.csv --out submission.csv',
      '  $ kconv show ../shared/data/kannada/val.csv --row 0 --weights model.json --out digit.png',
      '  $ kconv export model.json --onnx model.onnx',
      '  $ kconv serve --weights model.json              # draw a digit in the browser; an HTTP API',
      '  $ kconv info model.json                        # layers, shapes, parameters; how it was trained',
      '',
    ].join('\n'))
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      // Commander's own errors (unknown option, missing argument): one line, our prefix.
      outputError: (s, write) => write(`kconv: ${s.replace(/^error: /, '').trim()} (see kconv --help)\n`),
    })
    .showSuggestionAfterError(true)
    .exitOverride();
  for (const command of factories.map((make) => make(io, setExit))) {
    command.exitOverride().configureOutput(program.configureOutput());
    program.addCommand(command);
  }
  return program;
}

/** Runs the CLI and returns the exit code; never throws, never prints a stack trace. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  if (io === processIo) guardStandardStreams();
  setMainArgv(argv);
  let exitCode = 0;
  try {
    const program = await buildProgram(io, (code) => (exitCode = code), argv);
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version exit 0; usage mistakes exit 2, as is usual for CLIs.
      return error.exitCode === 0 ? 0 : 2;
    }
    const { line, exitCode: code } = describeError(error);
    io.err(line + '\n');
    if (process.env.KCONV_DEBUG && error instanceof Error) io.err(`${error.stack}\n`);
    return code;
  }
}
