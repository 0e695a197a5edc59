export { createCli, runCli, CLI_VERSION } from './cli.js';
export { type CliContext } from './cli-context.js';
export { CliError, ExitCode, type ExitCodeValue } from './cli-error.js';
export { loadCliConfig, normaliseHost, type CliConfig } from './config.js';
export { type BenchResult } from './bench/bench-result.js';
export { type LevelResult } from './bench/summarise.js';
export { type Distribution } from './bench/percentiles.js';
