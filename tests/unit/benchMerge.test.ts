// bench/merge.ts: a run of some benches (BENCH_ONLY) replaces only their parts of
// docs/benchmarks.md; the others, bench/downtime.ts's section and hand-kept sections stay.
import * as assert from "assert";
import { BenchKey, mergeReport, parseReport } from "../../bench/merge";

const doc = (stamp: string, parts: { downtime?: boolean; extra?: boolean } = {}) =>
    [
        `# Benchmarks`,
        "",
        `Generated ${stamp}.`,
        "",
        "## Targets",
        "",
        "| target | measured | |",
        "|---|---|---|",
        `| hooks CLI start ≤ 0.3 s | ${stamp} | **met** |`,
        `| backup ≥ 4x faster | ${stamp} | **met** |`,
        `| Postgres 15 → 17 by pg_upgrade | ${stamp} | **missed** |`,
        ...(parts.downtime ? [`| downtime of CVAT 2.2.0 → 2.3.0 | ${stamp} | **missed** |`] : []),
        "",
        "### What limits the missed targets (profiled) and what would close the gap",
        "",
        `- **Backup vs the plain tar read.** ${stamp}`,
        `- **Postgres by pg_upgrade.** ${stamp}`,
        "",
        ...(parts.downtime
            ? [
                  "<!-- downtime:begin (bench/downtime.ts writes this section) -->",
                  "## 4. Downtime",
                  "",
                  `downtime ${stamp}`,
                  "<!-- downtime:end -->",
                  "",
              ]
            : []),
        "## Machine",
        "",
        `machine ${stamp}`,
        "",
        "## 1. Volume backup",
        "",
        `backup ${stamp}`,
        "",
        "## 2. Volume restore",
        "",
        `restore ${stamp}`,
        "",
        "## 3. Postgres major migration 15 → 17",
        "",
        `pg ${stamp}`,
        "### a sub-heading",
        `pg more ${stamp}`,
        "",
        "## Hooks CLI start",
        "",
        `start ${stamp}`,
        "",
        ...(parts.extra ? ["## Against the previous report", "", `history ${stamp}`, ""] : []),
    ].join("\n");

describe("bench/merge.ts: a partial bench run keeps the rest of docs/benchmarks.md", () => {
    it("parses targets, analysis, the downtime block and sections", () => {
        const p = parseReport(doc("OLD", { downtime: true }));
        assert.strictEqual(p.targets.length, 4);
        assert.strictEqual(p.analysis.length, 2);
        assert.match(p.downtime!, /^<!-- downtime:begin[\s\S]*downtime OLD\n<!-- downtime:end -->$/);
        assert.deepStrictEqual(
            p.sections.map((s) => s.key),
            ["machine", "backup", "backup", "pg", "startup"],
        );
        assert.match(p.sections[3].text, /### a sub-heading\npg more OLD$/);
    });

    it("BENCH_ONLY=pg: the pg parts are new, backup's and the downtime's are kept, as is a hand-kept section", () => {
        const fresh = doc("NEW")
            .replace(/^\| backup .*\n/m, "")
            .replace(/^- \*\*Backup.*\n/m, "")
            .replace(/## 1\. Volume backup[\s\S]*?(?=## 3\.)/, "");
        const out = mergeReport(
            doc("OLD", { downtime: true, extra: true }),
            fresh,
            new Set<BenchKey>(["machine", "startup", "pg"]),
        );
        assert.match(out, /^# Benchmarks\n\nGenerated NEW\./);
        const p = parseReport(out);
        assert.deepStrictEqual(
            p.targets.map((t) => t.split(" | ")[1]),
            ["NEW", "OLD", "NEW", "OLD"],
        );
        assert.deepStrictEqual(p.analysis, [
            "- **Backup vs the plain tar read.** OLD",
            "- **Postgres by pg_upgrade.** NEW",
        ]);
        assert.match(p.downtime!, /downtime OLD/);
        assert.deepStrictEqual(
            p.sections.map((s) => `${s.key} ${s.text.split("\n").pop()}`),
            [
                "machine machine NEW",
                "backup backup OLD",
                "backup restore OLD",
                "pg pg more NEW",
                "startup start NEW",
                "other history OLD",
            ],
        );
    });

    it("a full run replaces every generated part; the downtime section stays, before the machine", () => {
        const out = mergeReport(
            doc("OLD", { downtime: true }),
            doc("NEW"),
            new Set<BenchKey>(["machine", "startup", "backup", "pg", "eval", "memory"]),
        );
        assert.ok(
            !/\bOLD\b/.test(
                out.replace(/<!-- downtime:begin[\s\S]*<!-- downtime:end -->/, "").replace(/^\| downtime .*$/m, ""),
            ),
            out,
        );
        assert.ok(out.indexOf("<!-- downtime:begin") < out.indexOf("## Machine"));
        assert.match(out, /^\| downtime of CVAT 2\.2\.0 → 2\.3\.0 \| OLD \|/m);
    });

    it("no previous report: the fresh one as it is", () => {
        const fresh = doc("NEW");
        assert.deepStrictEqual(
            parseReport(mergeReport(undefined, fresh, new Set<BenchKey>(["machine", "startup", "backup", "pg"]))),
            parseReport(fresh),
        );
    });
});
