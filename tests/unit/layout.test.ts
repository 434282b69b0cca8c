// The layout of hooks/ (issue 14): folders by what the code moves, imports one way. The rules are
// checked on the real import graph, and each rule is also shown to catch a made-up violation.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { OPERATIONS } from "../../hooks/cli";

const HOOKS = path.join(__dirname, "..", "..", "hooks");
/** Folders of the databases the products run on: each uses the shared folders, never another. */
const DATABASES = ["postgres", "mongo", "kwdb"];
/** Shared plumbing: the CLI's contract, docker, reports, the stop/restart of containers. */
const CORE = "core";

interface Edge {
    from: string;
    to: string;
}

function sources(dir = HOOKS): string[] {
    return (fs.readdirSync(dir, { recursive: true }) as string[])
        .filter((f) => f.endsWith(".ts"))
        .map((f) => f.split(path.sep).join("/"));
}

/** Every relative import of hooks/ (static, side-effect, require and import types), file to file. */
function importEdges(): Edge[] {
    const edges: Edge[] = [];
    for (const f of sources()) {
        const text = fs.readFileSync(path.join(HOOKS, f), "utf8");
        for (const m of text.matchAll(/(?:\bfrom\s+|^import\s+|\brequire\(\s*|\bimport\(\s*)"(\.[^"]+)"/gm)) {
            const to =
                path
                    .relative(HOOKS, path.resolve(path.dirname(path.join(HOOKS, f)), m[1]))
                    .split(path.sep)
                    .join("/") + ".ts";
            edges.push({ from: f, to });
        }
    }
    return edges;
}

const folder = (file: string) => (file.includes("/") ? file.split("/")[0] : "");

/** What breaks the layout's rules, one line per offending import or file. */
export function layoutProblems(files: string[], edges: Edge[]): string[] {
    const out: string[] = [];
    for (const f of files) {
        if (!f.includes("/") && f !== "cli.ts")
            out.push(`hooks/${f}: only the CLI's entry point (cli.ts) sits at hooks/ top level`);
        if (/[A-Z_]/.test(path.basename(f))) out.push(`hooks/${f}: file names are kebab-case`);
    }
    const folders = new Map<string, Set<string>>();
    for (const e of edges) {
        const a = folder(e.from),
            b = folder(e.to);
        if (!files.includes(e.to)) out.push(`hooks/${e.from} imports hooks/${e.to}, which does not exist`);
        if (e.to === "cli.ts") out.push(`hooks/${e.from} imports the entry point hooks/cli.ts`);
        if (a === b || b === "") continue;
        if (a === CORE) out.push(`hooks/${e.from} (core) imports hooks/${e.to}: core uses nothing outside core/`);
        if (DATABASES.includes(a) && DATABASES.includes(b))
            out.push(`hooks/${e.from} imports hooks/${e.to}: ${a}/ never imports a sibling database folder (${b}/)`);
        if (a !== "") folders.set(a, (folders.get(a) ?? new Set()).add(b));
    }
    // Folder imports go one way: no cycle between folders.
    const state = new Map<string, "open" | "done">();
    const visit = (n: string, trail: string[]): void => {
        if (state.get(n) === "done") return;
        if (state.get(n) === "open") {
            out.push(`folders import each other in a cycle: ${[...trail.slice(trail.indexOf(n)), n].join(" -> ")}`);
            return;
        }
        state.set(n, "open");
        for (const m of folders.get(n) ?? []) visit(m, [...trail, n]);
        state.set(n, "done");
    };
    for (const n of folders.keys()) visit(n, []);
    return out;
}

describe("hooks/ layout (issue 14)", () => {
    it("follows the rules: one entry point at the top, kebab-case names, core uses only core, database folders never import each other, no folder cycle", () => {
        const edges = importEdges();
        assert.ok(edges.length > 100, `only ${edges.length} imports found in hooks/: the parser misses them`);
        assert.deepStrictEqual(layoutProblems(sources(), edges), []);
    });

    it("names every operation's file after the operation", () => {
        const wrong = Object.entries(OPERATIONS).filter(
            ([op, mod]) => path.basename(mod) !== op || !fs.existsSync(path.join(HOOKS, `${mod}.ts`)),
        );
        assert.deepStrictEqual(wrong, []);
    });

    it("reports each kind of violation (the rules can fail)", () => {
        const files = [
            "cli.ts",
            "helper.ts",
            "core/docker.ts",
            "kwdb/common.ts",
            "postgres/common.ts",
            "volumes/backup.ts",
            "offsite/s3Keys.ts",
        ];
        const got = layoutProblems(files, [
            { from: "kwdb/common.ts", to: "postgres/common.ts" },
            { from: "core/docker.ts", to: "volumes/backup.ts" },
            { from: "volumes/backup.ts", to: "core/docker.ts" },
            { from: "postgres/common.ts", to: "cli.ts" },
            { from: "volumes/backup.ts", to: "volumes/gone.ts" },
        ]);
        assert.deepStrictEqual(got, [
            "hooks/helper.ts: only the CLI's entry point (cli.ts) sits at hooks/ top level",
            "hooks/offsite/s3Keys.ts: file names are kebab-case",
            "hooks/kwdb/common.ts imports hooks/postgres/common.ts: kwdb/ never imports a sibling database folder (postgres/)",
            "hooks/core/docker.ts (core) imports hooks/volumes/backup.ts: core uses nothing outside core/",
            "hooks/postgres/common.ts imports the entry point hooks/cli.ts",
            "hooks/volumes/backup.ts imports hooks/volumes/gone.ts, which does not exist",
            "folders import each other in a cycle: core -> volumes -> core",
        ]);
    });
});
