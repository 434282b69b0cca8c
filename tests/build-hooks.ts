// Required by every test suite before it starts (.mocharc.unit.json; tests/integration/setup.ts for
// the integration and e2e suites): the tests run bin/upshift, which refuses a stale dist/hooks, so
// a build older than the sources is rebuilt here (`npm run build`), once, loudly on failure.
import { execFileSync } from "child_process";
import * as path from "path";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { staleReason } = require("../bin/dist-check") as { staleReason(): string };

const why = staleReason();
if (why) {
    process.stderr.write(`tests: building the hooks CLI (${why})\n`);
    try {
        execFileSync(
            process.execPath,
            [require.resolve("typescript/bin/tsc"), "-p", path.join(__dirname, "..", "tsconfig.hooks.json")],
            { stdio: "inherit" },
        );
    } catch (e) {
        throw new Error(
            `tests: \`npm run build\` (tsc -p tsconfig.hooks.json) failed, the hooks CLI cannot run: ${(e as Error).message}`,
        );
    }
    const still = staleReason();
    if (still) throw new Error(`tests: dist/hooks is still stale after the build: ${still}`);
}
