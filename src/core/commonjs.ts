/**
 * require() for CommonJS packages, from ESM. On Node 20 an import() of a CommonJS package costs
 * far more than require(): Node parses each file once more to detect its syntax, lexes it for
 * export names and sends every nested require through the ESM loader. For bullmq, ioredis,
 * onnx-proto, onnxruntime-node and the AWS SDK that was a third of the CPU a worker spent loading
 * its modules (bench/startup.ts). Cast the result to `typeof import('package')`; types come from
 * `import type`.
 */
import { createRequire } from 'node:module';

export const requireCommonJs: NodeJS.Require = createRequire(import.meta.url);
