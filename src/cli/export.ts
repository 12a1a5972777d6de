import { existsSync, readFileSync } from 'node:fs';
import { Command } from 'commander';
import { ModelFileError } from '../errors.js';
import { ONNX_BATCH_DIM, ONNX_INPUT, ONNX_OUTPUT, writeOnnx } from '../export/onnx.js';
import { checkOutput } from '../io/output-check.js';
import { loadWeights } from '../model/ensemble.js';
import type { Io } from './output.js';
import { ensembleInputs, namedWeights } from './weights.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

interface ExportFlags {
  onnx: string;
}

export function exportCommand(io: Io, setExit: (code: number) => void): Command {
  return new Command('export')
    .description('write a trained model as an ONNX model, to run it with onnxruntime (Python, C++, C#, Java, a browser)')
    .argument('<model.json>', 'weights file written by kconv train; or an ensemble: a manifest (kconv train --ensemble K) or weights files separated by commas, exported as one graph that averages their probabilities')
    .requiredOption('--onnx <file>', 'write an ONNX model (opset 13) to this file (atomically)')
    .addHelpText('after', [
      '',
      'Example:',
      '  $ kconv export model.json --onnx model.onnx',
      '  $ kconv export ensemble.json --onnx ensemble.onnx      # an ensemble: one graph, the mean of the models',
      '',
      `The graph's input "${ONNX_INPUT}" is float32 [${ONNX_BATCH_DIM},1,28,28] of raw pixel values 0..255 (the model's`,
      `preprocessing is inside the graph); its output "${ONNX_OUTPUT}" is float32 [${ONNX_BATCH_DIM},10], the softmax`,
      'probabilities of the digits 0..9. Dropout layers are left out (they do nothing when predicting).',
      '',
    ].join('\n'))
    .action(async (file: string, flags: ExportFlags) => {
      const named = namedWeights(file, 'the weights file');
      if (named.length === 1 && !existsSync(file)) throw new ModelFileError(`${file}: no such weights file: train one with kconv train --out ${file}`);
      await checkOutput(flags.onnx, '--onnx', named);
      const ensemble = await loadWeights(file, '');
      if (ensemble.manifest) await checkOutput(flags.onnx, '--onnx', ensembleInputs(ensemble, 'the weights file'));
      const summary = await writeOnnx(ensemble.members, flags.onnx, { producerVersion: pkg.version });
      const k = ensemble.members.length;
      const ops = k === 1 ? summary.ops : [...new Set(summary.ops)];
      io.err(`wrote ${flags.onnx}: ONNX opset ${summary.opset}, ${k === 1 ? '' : `an ensemble of ${k} models averaged by Mean, `}${summary.ops.length} nodes (${ops.join(', ')}), ` +
        `${summary.parameters.toLocaleString('en-US')} parameters, ${summary.bytes.toLocaleString('en-US')} bytes\n`);
      setExit(0);
    });
}
