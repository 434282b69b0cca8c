// Adopting the vendors' own installs under Pulumi mocks: what each first run checks before it creates
// anything (`adopt-check`), which names and directories it reuses, and that later runs declare the
// check unchanged. The check itself runs on the real engine in tests/e2e/adoption.e2e.test.ts.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Capture, Registered, setMocks, value } from "./mocks";

setMocks();
// Imported after setMocks (reference/pulumi-notes.md, "Unit tests").
import { clearmlCatalog } from "../../catalog/clearml";
import { KWDB_DEFAULTS, kwdbCatalogFor } from "../../catalog/kwdb";
import { Clearml, ClearmlArgs } from "../../components/clearml";
import { Cvat, CvatArgs } from "../../components/cvat";
import { Kwdb, KwdbArgs } from "../../components/kwdb";
import { DeployedProduct, planChange } from "../../plan";
import { validateConfig } from "../../config/schema";

const COMMAND = "command:local:Command";
const VOLUME = "docker:index/volume:Volume";
const CONTAINER = "docker:index/container:Container";
const HOOKS = "upshift";

let n = 0;
function build<A>(
    make: (name: string, opts: pulumi.ComponentResourceOptions) => { deployed: pulumi.Output<DeployedProduct> },
) {
    const capture = new Capture();
    const name = `adopt${n++}`;
    const c = make(name, { transformations: [capture.transformation] });
    const check = capture.resources.find((r) => r.type === COMMAND && r.name === `${name}-adopt-check`);
    return { capture, name, check, c } as { capture: Capture; name: string; check?: Registered; c: A };
}
const base = { backupDir: "/srv/backups", hooksCommand: HOOKS };
const clearml = (version: string, extra: Partial<ClearmlArgs> = {}) =>
    build<Clearml>((name, opts) => new Clearml(name, { ...base, version, ...extra }, opts));
const cvat = (version: string, extra: Partial<CvatArgs> = {}) =>
    build<Cvat>(
        (name, opts) =>
            new Cvat(name, { ...base, version, secrets: { dbPassword: pulumi.secret("pw") }, ...extra }, opts),
    );
const kwdb = (version: string, extra: Partial<KwdbArgs> = {}) =>
    build<Kwdb>((name, opts) => new Kwdb(name, { ...base, version, ...extra }, opts));

/** The hooks argv of a check, split back into words (values with spaces are single-quoted by shellQuote). */
// The line starts with the shell's pid for the hook (components/hookSteps.ts hookLine), then the CLI.
const argv = (r: Registered) =>
    [...(r.props.create as string).replace(/^UPSHIFT_PARENT_PID=\$\$ /, "").matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)].map(
        (m) => (m[1] ?? m[2]).replace(/'\\''/g, "'"),
    );
const flag = (words: string[], f: string) => words.flatMap((w, i) => (words[i - 1] === f ? [w] : []));
const how = (r: Registered) => flag(argv(r), "--how")[0];

/** Every container and volume waits for the check, directly or through others. */
function assertEverythingWaits(capture: Capture, check: Registered): void {
    for (const r of [...capture.ofType(CONTAINER), ...capture.ofType(VOLUME)]) {
        assert.ok(capture.dependsTransitively(r.name).has(check.name), `${r.name} waits for ${check.name}`);
    }
}

describe("adopting the vendors' installs (Pulumi mocks)", () => {
    before(() => setMocks());

    describe("ClearML: the /opt/clearml tree (and /opt/trains for 0.16)", () => {
        it("clearml:dataDir set: mongo_4/db and elastic_7 under it must hold data, before any container; the fix names clearml:dataDir and clearml:adopt false", () => {
            const { capture, check } = clearml("1.16.0", { dataDir: "/srv/clearml" });
            assert.ok(check, "a check is declared");
            const words = argv(check);
            assert.deepStrictEqual(words.slice(0, 6), [
                HOOKS,
                "adopt-check",
                "--dir",
                "/srv/clearml/data/mongo_4/db",
                "--dir",
                "/srv/clearml/data/elastic_7",
            ]);
            assert.ok(!words.includes("--all-or-none"), "required, not all-or-none");
            assert.strictEqual(
                how(check),
                "clearml 1.16.0 is adopted from mongo_db /srv/clearml/data/mongo_4/db, elastic /srv/clearml/data/elastic_7 (clearml:dataDir), " +
                    "and the vendor's install always has data there. Fix: pulumi config set clearml:dataDir <where the install keeps it>; " +
                    "for a fresh install instead: pulumi config set clearml:adopt false",
            );
            assertEverythingWaits(capture, check);
            // The same directories are the containers' bind mounts (nothing else is made for them).
            const binds = capture
                .ofType(CONTAINER)
                .flatMap((c) => ((c.props.volumes ?? []) as { hostPath?: string }[]).map((v) => v.hostPath));
            for (const d of [
                "/srv/clearml/data/mongo_4/db",
                "/srv/clearml/data/elastic_7",
                "/srv/clearml/data/redis",
                "/srv/clearml/data/fileserver",
                "/srv/clearml/config",
                "/srv/clearml/logs",
                "/srv/clearml/data/mongo_4/configdb",
            ])
                assert.ok(binds.includes(d), d);
            assert.strictEqual(capture.ofType(VOLUME).length, 0);
        });

        it("at the vendor's /opt/clearml: all or none (a fresh install is fine, part of an install is refused); clearml:adopt true requires them; false checks nothing", () => {
            const dflt = clearml("1.16.0").check!;
            assert.deepStrictEqual(argv(dflt).slice(1, 7), [
                "adopt-check",
                "--dir",
                "/opt/clearml/data/mongo_4/db",
                "--dir",
                "/opt/clearml/data/elastic_7",
                "--all-or-none",
            ]);
            assert.match(
                how(dflt),
                /^the vendor's clearml 1\.16\.0 has data in all of mongo_db \/opt\/clearml\/data\/mongo_4\/db, elastic \/opt\/clearml\/data\/elastic_7\. Fix: pulumi config set --path clearml:volumes\.mongo_db/,
            );
            const strict = clearml("1.16.0", { adopt: true }).check!;
            assert.ok(!argv(strict).includes("--all-or-none"));
            assert.match(how(strict), /\(clearml:adopt true\)/);
            assert.strictEqual(clearml("1.16.0", { adopt: false, dataDir: "/srv/clearml" }).check, undefined);
        });

        it("Trains Server 0.16.1 at the vendor's /opt/trains: the 3.6 data in data/mongo/db and data/elastic_7 are what is checked and mounted", () => {
            const { capture, check } = clearml("0.16.1");
            assert.deepStrictEqual(argv(check!).slice(1, 7), [
                "adopt-check",
                "--dir",
                "/opt/trains/data/mongo/db",
                "--dir",
                "/opt/trains/data/elastic_7",
                "--all-or-none",
            ]);
            const mongo = capture.byName(capture.ofType(CONTAINER).find((c) => c.props.name === "trains-mongo")!.name);
            assert.deepStrictEqual(
                (mongo.props.volumes as { hostPath: string; containerPath: string }[]).map(
                    (v) => `${v.hostPath}:${v.containerPath}`,
                ),
                ["/opt/trains/data/mongo/db:/data/db", "/opt/trains/data/mongo/configdb:/data/configdb"],
            );
            const strict = clearml("0.16.1", { dataDir: "/srv/trains" }).check!;
            assert.deepStrictEqual(flag(argv(strict), "--dir"), [
                "/srv/trains/data/mongo/db",
                "/srv/trains/data/elastic_7",
            ]);
        });

        it("the next runs declare the check exactly as the first did (no diff, it never runs again), through an upgrade too", async () => {
            // The record resolves once the check has run: an update, not a preview, under mocks.
            setMocks({}, false);
            const first = clearml("1.16.0", { dataDir: "/srv/clearml" });
            const record = (await value(first.c.deployed))!;
            setMocks();
            assert.deepStrictEqual(record.adoptCheck, { create: first.check!.props.create, version: "1.16.0" });
            const again = clearml("1.16.0", { dataDir: "/srv/clearml", deployed: record });
            assert.deepStrictEqual(
                [again.check!.props.create, again.check!.props.triggers],
                [first.check!.props.create, first.check!.props.triggers],
            );
            const up = clearml("1.16.2", { dataDir: "/srv/clearml", deployed: record });
            assert.strictEqual(up.check!.props.create, first.check!.props.create);
            assert.deepStrictEqual(
                planChange({ catalog: clearmlCatalog("/srv/clearml"), to: "1.16.2", deployed: record }).next.adoptCheck,
                record.adoptCheck,
            );
            // A stack from before the check (no record of it) gets none on later runs.
            assert.strictEqual(
                clearml("1.16.0", { deployed: planChange({ catalog: clearmlCatalog(), to: "1.16.0" }).next }).check,
                undefined,
            );
        });
    });

    describe("CVAT: compose's volume names", () => {
        const fixture = JSON.parse(
            fs.readFileSync(path.join(__dirname, "fixtures", "upstream", "cvat.json"), "utf8"),
        ) as {
            facts: Record<string, { mounts: string[] }>;
            releases: Record<string, { project?: string; services: Record<string, string> }>;
        };
        /** The named volumes of a release as compose names them (the fixture's mounts), for a given project name. */
        const composeVolumes = (v: string) =>
            [
                ...new Set(
                    Object.values(fixture.releases[v].services)
                        .flatMap((id) => fixture.facts[id].mounts)
                        .map((m) => m.split(":")[0])
                        .filter((s) => !s.startsWith("/") && !s.startsWith(".") && s !== "tmpfs"),
                ),
            ].sort();
        const volumeNames = (c: Capture) =>
            c
                .ofType(VOLUME)
                .map((r) => r.props.name as string)
                .sort();

        it("before 2.24.0 the project is the clone's directory (`cvat` -> cvat_cvat_db); from 2.24.0 the file's `name: cvat`: both are the names registered", () => {
            assert.strictEqual(
                fixture.releases["2.23.1"].project,
                undefined,
                "2.23.1's file sets no name: the directory's",
            );
            assert.strictEqual(fixture.releases["2.24.0"].project, "cvat");
            for (const v of ["2.2.0", "2.23.1", "2.24.0", "2.73.0"]) {
                const vendor = composeVolumes(v);
                assert.ok(vendor.includes("cvat_cvat_db"), `${v}: ${vendor.join(", ")}`);
                assert.deepStrictEqual(volumeNames(cvat(v).capture), vendor, v);
            }
        });

        it("a clone in another directory before 2.24.0 (`my-cvat` -> my-cvat_cvat_db): cvat:volumes names them, and then they must hold data", () => {
            const names = {
                cvat_db: "my-cvat_cvat_db",
                cvat_data: "my-cvat_cvat_data",
                cvat_keys: "my-cvat_cvat_keys",
                cvat_logs: "my-cvat_cvat_logs",
            };
            const { capture, check } = cvat("2.23.1", { volumes: names });
            for (const n of Object.values(names)) assert.ok(volumeNames(capture).includes(n), n);
            assert.deepStrictEqual(argv(check!).slice(1, 4), ["adopt-check", "--volume", "my-cvat_cvat_db"]);
            assert.match(
                how(check!),
                /^cvat 2\.23\.1 is adopted from cvat_db my-cvat_cvat_db \(cvat:volumes\.cvat_db\), .*Fix: pulumi config set cvat:volumes\.cvat_db <where the install keeps it>; for a fresh install instead: pulumi config set cvat:adopt false$/,
            );
            assertEverythingWaits(capture, check!);
        });

        it("at compose's own names nothing is required (one volume: a fresh install or the install itself); cvat:adopt true requires cvat_cvat_db", () => {
            assert.strictEqual(cvat("2.24.0").check, undefined);
            assert.deepStrictEqual(argv(cvat("2.24.0", { adopt: true }).check!).slice(1, 4), [
                "adopt-check",
                "--volume",
                "cvat_cvat_db",
            ]);
        });
    });

    describe("KWDB: the installer's directories", () => {
        it("kwdb:volumes.kwdb_store=/var/lib/kaiwudb: the store must hold data before the certificates, the image check or the container", () => {
            const { capture, check, name } = kwdb("2.2.2", {
                volumes: { kwdb_store: "/var/lib/kaiwudb" },
                images: { "kwdb/kwdb:2.2.2": "kaiwudb:2.2.2" },
            });
            assert.deepStrictEqual(argv(check!).slice(1, 4), ["adopt-check", "--dir", "/var/lib/kaiwudb"]);
            assert.match(
                how(check!),
                /\(kwdb:volumes\.kwdb_store\).*Fix: pulumi config set kwdb:volumes\.kwdb_store <where the install keeps it>/,
            );
            for (const r of [`${name}-certs`, `${name}-image-present`, `${name}-kaiwudb-container`])
                assert.ok(capture.dependsTransitively(r).has(check!.name), r);
            assert.strictEqual(capture.ofType(VOLUME).length, 0, "never a named volume");
        });

        it("named volumes (a fresh install by default) are not checked; kwdb:adopt true checks kwdb_store", () => {
            assert.strictEqual(kwdb("3.1.0").check, undefined);
            assert.deepStrictEqual(argv(kwdb("3.1.0", { adopt: true }).check!).slice(1, 4), [
                "adopt-check",
                "--volume",
                "kwdb_store",
            ]);
            // The installer's layout recorded: an upgrade within the major keeps the same directory and declares no new check.
            const catalog = kwdbCatalogFor({
                ...KWDB_DEFAULTS,
                secure: true,
                installerDirs: { store: "/var/lib/kaiwudb", certs: "/etc/kaiwudb/certs" },
            });
            const deployed = planChange({ catalog, to: "2.2.0", volumeNames: { kwdb_store: "/var/lib/kaiwudb" } }).next;
            assert.strictEqual(
                kwdb("2.2.2", { volumes: { kwdb_store: "/var/lib/kaiwudb" }, deployed }).check,
                undefined,
            );
        });
    });

    it("config: <product>:adopt is a boolean; clearml:dataDir has no default in config (unset = the vendor's path, not an adoption there)", () => {
        const cfg = validateConfig({ "clearml:version": "1.16.0", "clearml:adopt": "false" }, () => false);
        assert.strictEqual(cfg.clearml!.adopt, false);
        assert.strictEqual(cfg.clearml!.dataDir, undefined);
        assert.throws(
            () => validateConfig({ "kwdb:version": "3.1.0", "kwdb:adopt": "yes" }, () => false),
            /kwdb:adopt: /,
        );
    });
});
