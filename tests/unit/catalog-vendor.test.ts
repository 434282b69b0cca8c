// For every release the catalogs know and the vendor ships a compose file for, what the component
// registers under Pulumi mocks equals the vendor's file (facts in fixtures/upstream/, written by
// tools/compose-facts) with the deliberate differences of catalog/deliberate.ts applied.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Capture, setMocks, value } from "./mocks";

setMocks();
// Imported after setMocks (reference/pulumi-notes.md, "Unit tests").
import { CVAT_VERSIONS, cvatCatalog } from "../../catalog/cvat";
import { catalogFacts } from "../../tools/compose-facts/catalogFacts";
import { CLEARML_VERSIONS, clearmlDefaultCatalog } from "../../catalog/clearml";
import { CLEARML_DELIBERATE, CVAT_DELIBERATE, SECRET_MARK } from "../../catalog/deliberate";
import { IDENTITY_LABELS } from "../../hooks/containers/orphans";
import { Clearml } from "../../components/clearml";
import { Cvat } from "../../components/cvat";
import { DeliberateDifference, diffFacts, expectedFacts } from "../../tools/compose-facts/compare";
import { PackedFacts, ServiceFacts, unpackFacts } from "../../tools/compose-facts/facts";

const SECRET = "vendor-compare-secret";
const fixture = (product: string): PackedFacts =>
    JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "upstream", `${product}.json`), "utf8")) as PackedFacts;

interface ContainerProps {
    name: string;
    image: pulumi.Output<string>;
    command?: string[];
    entrypoints?: string[];
    envs?: pulumi.Output<string[]>;
    volumes?: {
        volumeName?: pulumi.Output<string> | string;
        hostPath?: string;
        containerPath: string;
        readOnly: boolean;
    }[];
    networksAdvanced: { aliases: string[] }[];
    labels?: { label: string; value: string }[];
    tmpfs?: Record<string, string>;
    ports?: { internal: number; external: number; ip: string }[];
    user?: string;
    init?: boolean;
}

/** What a registered docker.Container runs, as facts (the mocks give an image id `sha256:<reference>`). */
async function registeredFacts(p: ContainerProps): Promise<ServiceFacts> {
    const own = Object.fromEntries(
        (p.labels ?? [])
            .filter((l) => (IDENTITY_LABELS as readonly string[]).includes(l.label))
            .map((l) => [l.label, l.value]),
    );
    assert.strictEqual(own["upshift.stack"], "upshift/dev", `${p.name}: upshift.stack`);
    assert.match(own["upshift.resource"] ?? "", new RegExp(`-${p.name}$`), `${p.name}: upshift.resource`);
    const envs = (await value(p.envs)) ?? [];
    const env = Object.fromEntries(
        envs.map((e) => {
            const i = e.indexOf("=");
            const v = e.slice(i + 1);
            return [e.slice(0, i), v === SECRET ? SECRET_MARK : v];
        }),
    );
    const mounts: string[] = [];
    for (const m of p.volumes ?? [])
        mounts.push(`${m.hostPath ?? (await value(m.volumeName))}:${m.containerPath}${m.readOnly ? ":ro" : ""}`);
    for (const t of Object.keys(p.tmpfs ?? {})) mounts.push(`tmpfs:${t}`);
    return {
        image: String(await value(p.image)).replace(/^sha256:/, ""),
        ...(p.command ? { command: p.command } : {}),
        ...(p.entrypoints ? { entrypoint: p.entrypoints } : {}),
        mounts,
        aliases: p.networksAdvanced[0].aliases.filter((a) => a !== p.name),
        // upshift's own two labels (deliberate: what made the container) checked, then set aside.
        labels: Object.fromEntries(
            (p.labels ?? [])
                .filter((l) => !(IDENTITY_LABELS as readonly string[]).includes(l.label))
                .map((l) => [l.label, l.value]),
        ),
        env,
        ports: (p.ports ?? []).map((x) => `${x.ip}:${x.external}:${x.internal}`),
        ...(p.user ? { user: p.user } : {}),
        ...(p.init ? { init: true } : {}),
    };
}

async function compareRelease(
    make: (capture: Capture) => void,
    version: string,
    packed: PackedFacts,
    diffs: readonly DeliberateDifference[],
) {
    const capture = new Capture();
    make(capture);
    const containers = capture
        .ofType("docker:index/container:Container")
        .map((c) => c.props as unknown as ContainerProps);
    const facts = await Promise.all(containers.map(registeredFacts));
    const registered = Object.fromEntries(containers.map((p, i) => [p.name, facts[i]]));
    const { services, applied } = expectedFacts(version, unpackFacts(packed, version), diffs);
    return { problems: diffFacts(services, registered), applied, registered };
}

describe("catalogs against the vendors' compose files (Pulumi mocks)", () => {
    before(() => setMocks());

    it("CVAT: every catalog release's entry is the vendor's file (containers, images, commands, mounts, aliases, labels, env), deliberate differences applied", () => {
        const packed = fixture("cvat");
        const releases = Object.keys(packed.releases);
        assert.deepStrictEqual(
            releases,
            [...CVAT_VERSIONS],
            "every catalog release has the vendor's facts, and no other",
        );
        const used = new Set<string>();
        const problems: string[] = [];
        for (const v of releases) {
            const { services, applied } = expectedFacts(v, unpackFacts(packed, v), CVAT_DELIBERATE);
            problems.push(...diffFacts(services, catalogFacts(cvatCatalog, v)).map((p) => `${v} ${p}`));
            applied.forEach((id) => used.add(id));
        }
        assert.deepStrictEqual(problems, []);
        // Each deliberate difference changes something somewhere: none is a dead entry.
        assert.deepStrictEqual([...used].sort(), CVAT_DELIBERATE.map((d) => d.id).sort());
        assert.strictEqual(releases.length, 125);
        assert.strictEqual(CVAT_DELIBERATE.length, 6);
    });

    it("CVAT: the component registers exactly that, for the first release of every distinct catalog entry", async function () {
        // A registration takes ~1 s under mocks; the 125 releases have 37 distinct entries (the
        // release's own version aside), and the catalog-to-container mapping is the same code for each.
        this.timeout(300000);
        const packed = fixture("cvat");
        const seen = new Set<string>();
        const firsts = CVAT_VERSIONS.filter((v) => {
            const key = JSON.stringify(catalogFacts(cvatCatalog, v)).split(v).join("{version}");
            return !seen.has(key) && !!seen.add(key);
        });
        assert.strictEqual(firsts.length, 37);
        const problems: string[] = [];
        let n = 0;
        for (const v of firsts) {
            const r = await compareRelease(
                (capture) =>
                    new Cvat(
                        `cmp${n++}`,
                        {
                            version: v,
                            backupDir: "/srv/backups",
                            secrets: { dbPassword: pulumi.secret(SECRET) },
                        },
                        { transformations: [capture.transformation] },
                    ),
                v,
                packed,
                CVAT_DELIBERATE,
            );
            problems.push(...r.problems.map((p) => `${v} ${p}`));
        }
        assert.deepStrictEqual(problems, []);
    });

    it("CVAT: the comparison fails without the deliberate differences (they are asserted, not ignored)", async () => {
        const packed = fixture("cvat");
        const r = await compareRelease(
            (capture) =>
                new Cvat(
                    "cmp-raw",
                    {
                        version: "2.73.0",
                        backupDir: "/srv/backups",
                        secrets: { dbPassword: pulumi.secret(SECRET) },
                    },
                    { transformations: [capture.transformation] },
                ),
            "2.73.0",
            packed,
            [],
        );
        assert.ok(
            r.problems.includes(
                'cvat_db: env: vendor {"POSTGRES_DB":"cvat","POSTGRES_HOST_AUTH_METHOD":"trust","POSTGRES_USER":"root"}, ' +
                    'upshift {"POSTGRES_DB":"cvat","POSTGRES_PASSWORD":"<secret>","POSTGRES_USER":"root"}',
            ),
            r.problems.join("\n"),
        );
        assert.ok(r.problems.includes("cvat_vector: in the vendor's file, not run by upshift"));
        assert.ok(r.problems.some((p) => p.startsWith("traefik: ports:")));
    });

    it("ClearML: every catalog release with a vendor file is that file, deliberate differences applied; the component registers it for each", async function () {
        this.timeout(300000);
        const packed = fixture("clearml");
        const releases = Object.keys(packed.releases);
        // 0.16.x sat at the repo root (no file here); 1.17.1 and 2.4.0 are in the release notes only.
        assert.deepStrictEqual(
            CLEARML_VERSIONS.filter((v) => !releases.includes(v)),
            ["0.16.0", "0.16.1", "1.17.1", "2.4.0"],
        );
        assert.strictEqual(releases.length, 35);
        const used = new Set<string>();
        const problems: string[] = [];
        let n = 0;
        for (const v of releases) {
            const { services, applied } = expectedFacts(v, unpackFacts(packed, v), CLEARML_DELIBERATE);
            applied.forEach((id) => used.add(id));
            problems.push(...diffFacts(services, catalogFacts(clearmlDefaultCatalog, v)).map((p) => `${v} ${p}`));
            const r = await compareRelease(
                (capture) =>
                    new Clearml(
                        `cml${n++}`,
                        { version: v, backupDir: "/srv/backups" },
                        { transformations: [capture.transformation] },
                    ),
                v,
                packed,
                CLEARML_DELIBERATE,
            );
            problems.push(...r.problems.map((p) => `${v} (registered) ${p}`));
        }
        assert.deepStrictEqual(problems, []);
        assert.deepStrictEqual([...used].sort(), CLEARML_DELIBERATE.map((d) => d.id).sort());
        assert.strictEqual(CLEARML_DELIBERATE.length, 5);
    });
});
