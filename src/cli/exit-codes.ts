/** Exit codes of the CLI: read from the one error→outcome table (core/outcomes.ts). */
export { EXIT, exitCodeFor, type ExitCode } from '../core/outcomes.js';
export { UsageError } from '../core/errors.js';
