// Is the compiled hooks CLI (dist/hooks, built by `npm run build`, which `npm ci` runs as the
// `prepare` script) missing or older than its TypeScript? Plain JavaScript, no dependencies:
// bin/upshift runs it on every start (about 40 stat calls) and the test suites before they start.
"use strict";
const fs = require("fs");
const path = require("path");

const ROOT = path.join(__dirname, "..");
const SRC = path.join(ROOT, "hooks");
const OUT = path.join(ROOT, "dist", "hooks");
const CONFIGS = ["tsconfig.json", "tsconfig.hooks.json"].map((f) => path.join(ROOT, f));

/** Why dist/hooks cannot be run as it is ("" when every .ts under hooks/ has a newer .js). */
function staleReason() {
    let sources;
    try {
        // Every folder of hooks/ (Node 20's recursive readdir gives paths relative to SRC).
        sources = fs.readdirSync(SRC, { recursive: true }).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"));
    } catch (e) {
        return `cannot read ${SRC}: ${e.message}`;
    }
    const configTime = Math.max(
        ...CONFIGS.map((f) => {
            try {
                return fs.statSync(f).mtimeMs;
            } catch {
                return 0;
            }
        }),
    );
    for (const f of sources) {
        const js = path.join(OUT, f.replace(/\.ts$/, ".js"));
        const built = path.join("dist", "hooks", f.replace(/\.ts$/, ".js"));
        let builtTime;
        try {
            builtTime = fs.statSync(js).mtimeMs;
        } catch {
            return `${built} is missing`;
        }
        if (fs.statSync(path.join(SRC, f)).mtimeMs > builtTime) return `hooks/${f} is newer than ${built}`;
        if (configTime > builtTime) return `a tsconfig is newer than ${built}`;
    }
    return "";
}

module.exports = { staleReason, ROOT };
