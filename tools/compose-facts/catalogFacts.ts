// The catalog's entry for a release as comparable facts (the same shape the vendor's file gives).
import { SECRET_MARK } from "../../catalog/deliberate";
import { ProductCatalog } from "../../catalog/types";
import { ServiceFacts } from "./facts";

export function catalogFacts(catalog: ProductCatalog, version: string): Record<string, ServiceFacts> {
    const vols = catalog.dataVolumes(version);
    const out: Record<string, ServiceFacts> = {};
    for (const s of catalog.services(version).filter((x) => !x.optional)) {
        const env: Record<string, string> = {};
        for (const [k, v] of Object.entries(s.env ?? {})) {
            if (typeof v === "string") env[k] = v;
            else if (!v.optional) env[k] = SECRET_MARK;
        }
        out[s.name] = {
            image: s.image,
            ...(s.command ? { command: s.command } : {}),
            ...(s.entrypoint ? { entrypoint: s.entrypoint } : {}),
            mounts: [
                ...(s.mounts ?? []).map(
                    (m) =>
                        `${vols.find((d) => d.key === m.volume)?.defaultName ?? `?${m.volume}`}:${m.target}${m.readOnly ? ":ro" : ""}`,
                ),
                ...(s.binds ?? []).map((b) => `${b.source}:${b.target}${b.readOnly ? ":ro" : ""}`),
                ...(s.tmpfs ?? []).map((t) => `tmpfs:${t}`),
            ],
            aliases: (s.aliases ?? []).filter((a) => a !== s.name),
            labels: s.labels ?? {},
            env,
            ports: (s.ports ?? []).map((p) => `${p.ip ?? "127.0.0.1"}:${p.external}:${p.internal}`),
            ...(s.user ? { user: s.user } : {}),
            ...(s.init ? { init: true } : {}),
        };
    }
    return out;
}
