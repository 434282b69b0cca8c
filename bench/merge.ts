// How bench/run.ts writes docs/benchmarks.md when it measured only some sections (BENCH_ONLY):
// the sections, target rows and analysis bullets of what did not run are taken from the report
// already there, as are the downtime section (bench/downtime.ts writes it, between its markers)
// and its target row, and any section neither script generates. Pure text: tested on its own
// (tests/unit/benchMerge.test.ts).

/** What a part of the report belongs to: the bench that measures it. */
export type BenchKey = "machine" | "startup" | "backup" | "pg" | "eval" | "memory" | "downtime" | "other";
/** The order of bench/run.ts's report: its target rows (CLI start first), its sections (CLI start last). */
const ORDER: readonly BenchKey[] = ["machine", "startup", "backup", "pg", "eval", "memory", "downtime"];
const SECTION_ORDER: readonly BenchKey[] = ["machine", "backup", "pg", "eval", "memory", "startup"];

const DOWNTIME_BEGIN = "<!-- downtime:begin";
const DOWNTIME_END = "<!-- downtime:end -->";
const ANALYSIS = "### What limits the missed targets (profiled) and what would close the gap";

interface Parsed {
    head: string;
    targets: string[];
    analysis: string[];
    downtime?: string;
    sections: { key: BenchKey; text: string }[];
}

function targetKey(row: string): BenchKey {
    if (/^\| hooks CLI start/.test(row)) return "startup";
    if (/^\| (backup|restore) /.test(row)) return "backup";
    if (/^\| Postgres /.test(row)) return "pg";
    if (/^\| program evaluation/.test(row)) return "eval";
    if (/^\| hook peak memory/.test(row)) return "memory";
    if (/^\| downtime /.test(row)) return "downtime";
    return "other";
}

function bulletKey(b: string): BenchKey {
    if (/^- \*\*(Backup|Restore)/.test(b)) return "backup";
    if (/^- \*\*Postgres/.test(b)) return "pg";
    if (/^- \*\*Evaluation/.test(b)) return "eval";
    if (/^- \*\*Hook memory/.test(b)) return "memory";
    return "other";
}

function sectionKey(heading: string): BenchKey {
    if (/^## Machine/.test(heading)) return "machine";
    if (/^## [12]\. Volume (backup|restore)/.test(heading)) return "backup";
    if (/^## 3\. Postgres major migration/.test(heading)) return "pg";
    if (/^## 4\. Program evaluation/.test(heading)) return "eval";
    if (/^## Peak memory of the hook processes/.test(heading)) return "memory";
    if (/^## Hooks CLI start/.test(heading)) return "startup";
    return "other";
}

export function parseReport(doc: string): Parsed {
    let text = doc;
    let downtime: string | undefined;
    const b = text.indexOf(DOWNTIME_BEGIN),
        e = text.indexOf(DOWNTIME_END);
    if (b >= 0 && e > b) {
        downtime = text.slice(b, e + DOWNTIME_END.length);
        text = text.slice(0, b) + text.slice(e + DOWNTIME_END.length);
    }
    const lines = text.split("\n");
    const ti = lines.indexOf("## Targets");
    const mi = lines.findIndex((l) => l.startsWith("## ") && l !== "## Targets");
    const headEnd = ti >= 0 ? ti : mi >= 0 ? mi : lines.length;
    const head = lines.slice(0, headEnd).join("\n").trimEnd();
    const targets: string[] = [],
        analysis: string[] = [];
    const bodyStart = mi >= 0 ? mi : lines.length;
    if (ti >= 0) {
        let inAnalysis = false;
        for (const l of lines.slice(ti + 1, bodyStart)) {
            if (l === ANALYSIS) {
                inAnalysis = true;
                continue;
            }
            if (!inAnalysis && l.startsWith("| ") && !l.startsWith("| target |")) targets.push(l);
            else if (inAnalysis && l.startsWith("- ")) analysis.push(l);
            else if (inAnalysis && l.trim() !== "" && analysis.length) analysis[analysis.length - 1] += `\n${l}`;
        }
    }
    const sections: Parsed["sections"] = [];
    for (const l of lines.slice(bodyStart)) {
        if (l.startsWith("## ")) sections.push({ key: sectionKey(l), text: l });
        else if (sections.length) sections[sections.length - 1].text += `\n${l}`;
    }
    for (const s of sections) s.text = s.text.trimEnd();
    return { head, targets, analysis, downtime, sections };
}

/**
 * The report to write: `fresh` (what this run generated) for the keys in `ran`, the previous
 * report's parts for the others, then the previous report's other sections as they were.
 */
export function mergeReport(previous: string | undefined, fresh: string, ran: ReadonlySet<BenchKey>): string {
    const f = parseReport(fresh);
    const p = previous
        ? parseReport(previous)
        : { head: "", targets: [], analysis: [], downtime: undefined, sections: [] };
    const has = (k: BenchKey) => ran.has(k);
    const pick = <T>(k: BenchKey, fromFresh: T[], fromPrev: T[]) => (has(k) ? fromFresh : fromPrev);
    const targets = ORDER.flatMap((k) =>
        pick(
            k,
            f.targets.filter((r) => targetKey(r) === k),
            p.targets.filter((r) => targetKey(r) === k),
        ),
    );
    const analysis = ORDER.flatMap((k) =>
        pick(
            k,
            f.analysis.filter((r) => bulletKey(r) === k),
            p.analysis.filter((r) => bulletKey(r) === k),
        ),
    );
    const out: string[] = [f.head, "", "## Targets", "", "| target | measured | |", "|---|---|---|", ...targets, ""];
    if (analysis.length) out.push(ANALYSIS, "", ...analysis, "");
    const downtime = f.downtime ?? p.downtime;
    if (downtime) out.push(downtime, "");
    for (const k of SECTION_ORDER) {
        for (const s of pick(
            k,
            f.sections.filter((x) => x.key === k),
            p.sections.filter((x) => x.key === k),
        ))
            out.push(s.text, "");
    }
    for (const s of p.sections.filter((x) => x.key === "other")) out.push(s.text, "");
    return (
        out
            .join("\n")
            .replace(/\n{3,}/g, "\n\n")
            .trimEnd() + "\n"
    );
}
