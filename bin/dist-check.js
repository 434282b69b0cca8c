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

/** Why dist/hooks cannot be run as it is ("" when every hooks/*.ts has a newer .js). */
function staleReason() {
    let sources;
    try {
        sources = fs.readdirSync(SRC).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"));
    } catch (e) {
        return `cannot read ${SRC}: ${e.message}`;
    }
    const configTime = Math.max(...CONFIGS.map((f) => { try { return fs.statSync(f).mtimeMs; } catch { return 0; } }));
    for (const f of sources) {
        const js = path.join(OUT, f.replace(/\.ts$/, ".js"));
        let built;
        try { built = fs.statSync(js).mtimeMs; } catch { return `dist/hooks/${path.basename(js)} is missing`; }
        if (fs.statSync(path.join(SRC, f)).mtimeMs > built) return `hooks/${f} is newer than dist/hooks/${path.basename(js)}`;
        if (configTime > built) return `a tsconfig is newer than dist/hooks/${path.basename(js)}`;
    }
    return "";
}

module.exports = { staleReason, ROOT };
