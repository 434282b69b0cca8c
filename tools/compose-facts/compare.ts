// Compares what upshift runs for a release with the vendor's compose facts, deliberate differences
// applied. Shared by the maintainer's tool (index.ts `check`) and tests/unit/catalog-vendor.test.ts.
import { ServiceFacts } from "./facts";

/** One way upshift runs a release differently from the vendor's file, on purpose (README "Deliberate differences"). */
export interface DeliberateDifference {
    readonly id: string;
    /** Why, in one line (shown by the tool; the README says it at length). */
    readonly why: string;
    /** Turns the vendor's facts for a container into what upshift runs; undefined = upshift does not run it. */
    readonly apply: (version: string, name: string, vendor: ServiceFacts) => ServiceFacts | undefined;
}

/** The facts compared; env only where `compareEnv` says so. */
export const DIMENSIONS = [
    "image",
    "command",
    "entrypoint",
    "mounts",
    "aliases",
    "labels",
    "env",
    "ports",
    "user",
    "init",
] as const;

/** Vendor facts with every deliberate difference applied, and which differences changed something. */
export function expectedFacts(
    version: string,
    vendor: Readonly<Record<string, ServiceFacts>>,
    diffs: readonly DeliberateDifference[],
): {
    services: Record<string, ServiceFacts>;
    applied: Set<string>;
} {
    const services: Record<string, ServiceFacts> = {};
    const applied = new Set<string>();
    for (const [name, facts] of Object.entries(vendor)) {
        let cur: ServiceFacts | undefined = normalize(facts);
        for (const d of diffs) {
            if (!cur) break;
            const next: ServiceFacts | undefined = d.apply(version, name, cur);
            if (JSON.stringify(next && normalize(next)) !== JSON.stringify(cur)) applied.add(d.id);
            cur = next && normalize(next);
        }
        if (cur) services[name] = cur;
    }
    return { services, applied };
}

/** Sorted, defaults dropped: two facts are the same when their JSON is. */
export function normalize(f: ServiceFacts): ServiceFacts {
    const sortRec = (r: Readonly<Record<string, string>>) =>
        Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return {
        image: f.image,
        ...(f.command?.length ? { command: [...f.command] } : {}),
        ...(f.entrypoint?.length ? { entrypoint: [...f.entrypoint] } : {}),
        mounts: [...f.mounts].sort(),
        aliases: [...new Set(f.aliases)].sort(),
        labels: sortRec(f.labels),
        env: sortRec(f.env),
        ports: [...f.ports].sort(),
        ...(f.user ? { user: f.user } : {}),
        ...(f.init ? { init: true } : {}),
    };
}

/** Every difference, one line each (`service: dimension: expected ... got ...`); empty when they agree. */
export function diffFacts(
    expected: Readonly<Record<string, ServiceFacts>>,
    actual: Readonly<Record<string, ServiceFacts>>,
): string[] {
    const out: string[] = [];
    for (const name of [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort()) {
        const e = expected[name],
            a = actual[name];
        if (!e) {
            out.push(`${name}: upshift runs it, the vendor's file does not`);
            continue;
        }
        if (!a) {
            out.push(`${name}: in the vendor's file, not run by upshift`);
            continue;
        }
        const ne = normalize(e) as unknown as Record<string, unknown>,
            na = normalize(a) as unknown as Record<string, unknown>;
        for (const dim of DIMENSIONS) {
            const x = JSON.stringify(ne[dim]),
                y = JSON.stringify(na[dim]);
            if (x !== y) out.push(`${name}: ${dim}: vendor ${x ?? "(none)"}, upshift ${y ?? "(none)"}`);
        }
    }
    return out;
}
