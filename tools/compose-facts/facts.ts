// What a vendor's compose file says about each container, as small comparable facts. Used by the
// maintainer's tool (tools/compose-facts/index.ts) and by the catalog comparison test; pure, no Pulumi.
import { parse } from "yaml";

/** One container of a vendor's compose file, in the shape the catalog can be compared with. */
export interface ServiceFacts {
    readonly image: string;
    readonly command?: readonly string[];
    readonly entrypoint?: readonly string[];
    /** `source:target[:ro]`; source is a named volume, a host path (starts with / or .) or `tmpfs`. */
    readonly mounts: readonly string[];
    /** Network aliases beyond the container name. */
    readonly aliases: readonly string[];
    readonly labels: Readonly<Record<string, string>>;
    /** Variables as compose resolves them with an empty shell environment (`${X:-d}` -> d). */
    readonly env: Readonly<Record<string, string>>;
    readonly ports: readonly string[];
    readonly user?: string;
    readonly init?: boolean;
}

export interface ComposeFacts {
    /** Compose project name when the file sets it (`name:`); volumes are then `<name>_<volume>`. */
    readonly project?: string;
    /** By container name. */
    readonly services: Readonly<Record<string, ServiceFacts>>;
}

/**
 * `${X:-default}`, `${X-default}`, `${X}` and `$X` as compose resolves them with X unset (nested
 * defaults from the inside out); `$$` is a literal `$`.
 */
export function interpolate(s: string): string {
    const DOLLAR = "\u0000";
    let out = s.replace(/\$\$/g, DOLLAR),
        prev: string;
    do {
        prev = out;
        out = out
            .replace(/\$[A-Za-z_][A-Za-z0-9_]*/g, "")
            .replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^${}]*))?\}/g, (_m, _name, op, def) =>
                op === ":-" || op === "-" ? (def ?? "") : "",
            );
    } while (out !== prev);
    return out.replace(/\u0000/g, "$");
}

/**
 * Splits a string command the way compose does (shell words: blanks separate, quotes group).
 * Compose uses shlex (compose-go: shellwords); the vendors' files use only plain words and quotes.
 */
export function shellWords(s: string): string[] {
    const words: string[] = [];
    let cur = "",
        quote: string | undefined,
        any = false;
    for (const ch of s) {
        if (quote) {
            if (ch === quote) quote = undefined;
            else cur += ch;
        } else if (ch === "'" || ch === '"') {
            quote = ch;
            any = true;
        } else if (/\s/.test(ch)) {
            if (cur || any) words.push(cur);
            cur = "";
            any = false;
        } else cur += ch;
    }
    if (quote) throw new Error(`unterminated quote in command: ${s}`);
    if (cur || any) words.push(cur);
    return words;
}

const str = (v: unknown): string => (v === null || v === undefined ? "" : interpolate(String(v)));
const words = (v: unknown): string[] | undefined => {
    if (v === undefined || v === null) return undefined;
    return Array.isArray(v) ? v.map(str) : shellWords(str(v));
};
const record = (v: unknown): Record<string, string> => {
    const out: Record<string, string> = {};
    if (Array.isArray(v)) {
        for (const item of v) {
            const [k, ...rest] = String(item).split("=");
            out[k] = str(rest.join("="));
        }
    } else if (v && typeof v === "object") {
        for (const [k, val] of Object.entries(v)) out[k] = str(val);
    }
    return sorted(out);
};
const sorted = (r: Record<string, string>): Record<string, string> =>
    Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/**
 * `source:target[:ro]` with compose's naming: a named volume becomes `<project>_<name>`, a path
 * without a source is an anonymous volume (`anonymous:<path>`), `tmpfs:<path>` a tmpfs.
 */
function mount(v: unknown, project: string): string {
    let source: string, rest: string;
    if (typeof v === "string") {
        const parts = str(v).split(":");
        if (parts.length === 1) return `anonymous:${parts[0]}`;
        source = parts[0];
        rest = parts.slice(1).join(":");
    } else {
        const m = v as { type?: string; source?: string; target: string; read_only?: boolean };
        if (m.type === "tmpfs") return `tmpfs:${m.target}`;
        source = str(m.source);
        rest = `${m.target}${m.read_only ? ":ro" : ""}`;
    }
    const named = !source.startsWith("/") && !source.startsWith(".") && !source.startsWith("~");
    return `${named ? `${project}_${source}` : source}:${rest}`;
}

/**
 * Reads one compose file's text (merge keys `<<` resolved by the YAML library). `directory`: the
 * project name compose takes from the file's directory when the file sets none (`cvat` for a clone of cvat-ai/cvat).
 */
export function composeFacts(text: string, directory: string): ComposeFacts {
    const doc = (parse(text, { merge: true, maxAliasCount: -1 }) ?? {}) as {
        name?: string;
        services?: Record<string, Record<string, unknown>>;
    };
    const services: Record<string, ServiceFacts> = {};
    const project = doc.name ? String(doc.name) : directory;
    for (const [key, s] of Object.entries(doc.services ?? {})) {
        const name = s.container_name ? String(s.container_name) : key;
        const nets = s.networks;
        // Reachable by its service name too when that differs from the container name.
        const aliases = [
            ...(key !== name ? [key] : []),
            ...(nets && !Array.isArray(nets)
                ? Object.values(nets as Record<string, { aliases?: string[] } | null>)
                      .flatMap((n) => n?.aliases ?? [])
                      .map(str)
                : []),
        ];
        services[name] = {
            image: str(s.image),
            ...(s.command !== undefined ? { command: words(s.command) } : {}),
            ...(s.entrypoint !== undefined ? { entrypoint: words(s.entrypoint) } : {}),
            mounts: ((s.volumes as unknown[]) ?? []).map((m) => mount(m, project)),
            aliases,
            labels: record(s.labels),
            env: record(s.environment),
            ports: ((s.ports as unknown[]) ?? []).map(str),
            ...(s.user !== undefined ? { user: str(s.user) } : {}),
            ...(s.init !== undefined ? { init: Boolean(s.init) } : {}),
        };
    }
    return { ...(doc.name ? { project: String(doc.name) } : {}), services };
}

/**
 * The fixture's form (tests/unit/fixtures/upstream/<product>.json): each distinct container once,
 * the release's own version in it written `{version}`, and per release which container it runs.
 */
export interface PackedFacts {
    readonly facts: Readonly<Record<string, ServiceFacts>>;
    readonly releases: Readonly<
        Record<string, { readonly project?: string; readonly services: Readonly<Record<string, string>> }>
    >;
}

export function packFacts(byRelease: Readonly<Record<string, ComposeFacts>>): PackedFacts {
    const facts: Record<string, ServiceFacts> = {};
    const ids = new Map<string, string>();
    const releases: Record<string, { project?: string; services: Record<string, string> }> = {};
    for (const [v, c] of Object.entries(byRelease)) {
        const services: Record<string, string> = {};
        for (const [name, f] of Object.entries(c.services)) {
            const json = JSON.stringify(f).split(v).join("{version}");
            let id = ids.get(json);
            if (!id) {
                id = `${name}#${[...ids.keys()].filter((k) => ids.get(k)!.startsWith(`${name}#`)).length + 1}`;
                ids.set(json, id);
                facts[id] = JSON.parse(json) as ServiceFacts;
            }
            services[name] = id;
        }
        releases[v] = { ...(c.project ? { project: c.project } : {}), services };
    }
    return { facts, releases };
}

/** One release's containers from the packed fixture. */
export function unpackFacts(packed: PackedFacts, version: string): Record<string, ServiceFacts> {
    const r = packed.releases[version];
    if (!r) throw new Error(`no vendor facts for ${version}`);
    return Object.fromEntries(
        Object.entries(r.services).map(([name, id]) => [
            name,
            JSON.parse(JSON.stringify(packed.facts[id]).split("{version}").join(version)) as ServiceFacts,
        ]),
    );
}
