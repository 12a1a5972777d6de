import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { checkCommand } from './check.js';
import { downloadCommand } from './download.js';
import { exportCommand } from './export.js';
import { infoCommand } from './info.js';
import { evaluateCommand, predictCommand } from './predict.js';
import { serveCommand } from './serve.js';
import { showCommand } from './show.js';
import { trainCommand } from './train.js';
import { setMainArgv } from './invocation.js';
import { describeError, guardStandardStreams, processIo, type Io } from './output.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** Builds the commander program; each command lives in its own file beside this one. */
export function buildProgram(io: Io, setExit: (code: number) => void): Command {
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
  for (const command of [checkCommand(io, setExit), trainCommand(io, setExit), predictCommand(io, setExit), evaluateCommand(io, setExit), exportCommand(io, setExit), showCommand(io, setExit), serveCommand(io, setExit), infoCommand(io, setExit), downloadCommand(io, setExit)]) {
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
  const program = buildProgram(io, (code) => (exitCode = code));
  try {
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
