// Runs the CLI from source (tests spawn it as a child: kill it, drive it in a pty).
import { main } from '../../src/cli/main.js';

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
