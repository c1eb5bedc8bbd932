// `keepwatch` from the TypeScript sources (no build needed): node --import tsx test/helpers/keepwatchMain.ts ARGS
import { main } from '../../agent/cli/main';

main(['node', 'keepwatch', ...process.argv.slice(2)]).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`keepwatch: ${(err as Error).message}\n`);
    process.exitCode = 1;
  },
);
