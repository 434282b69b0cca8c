// The real mongo-fcv and intermediate-server hooks, run through the real CLI against a fake `docker`
// on PATH (tests/unit/fixtures/clearml/fake-docker): Mongo, Elasticsearch and ClearML images cannot
// run here, so these tests assert the exact docker commands each hop runs, in order, and how
// failures are handled (the temporary containers are always stopped and removed).
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Capture, setMocks } from "./mocks";

setMocks();
import { clearmlCatalog } from "../../catalog/clearml";
import { Clearml } from "../../components/clearml";
import { planChange } from "../../plan";

const ROOT = path.join(__dirname, "..", "..");
const CLI = path.join(ROOT, "bin", "upshift");
const FAKE = path.join(__dirname, "fixtures", "clearml", "fake-docker");

interface Run {
    code: number;
    stdout: string;
    stderr: string;
    calls: string[][];
}

function runHook(argv: string[], env: Record<string, string> = {}): Run {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-clearml-"));
    const log = path.join(dir, "docker.log");
    fs.writeFileSync(log, "");
    const r = spawnSync(process.execPath, [CLI, ...argv], {
        encoding: "utf8",
        env: {
            ...process.env,
            PATH: `${FAKE}:${process.env.PATH}`,
            FAKE_DOCKER_LOG: log,
            UPSHIFT_POLL_MS: "10",
            DOCKER_HOST: "",
            ...env,
        },
    });
    const calls = fs
        .readFileSync(log, "utf8")
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as string[]);
    fs.rmSync(dir, { recursive: true, force: true });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, calls };
}

/** The shell line a step Command registers, run with our CLI and the fake docker. */
function runShellLine(line: string, env: Record<string, string> = {}): Run {
    const m = /^UPSHIFT_PARENT_PID=\$\$ node \S+ (.*)$/.exec(line);
    assert.ok(m, `unexpected step line ${line}`);
    const argv = spawnSync("sh", ["-c", `for a in ${m![1]}; do printf '%s\\0' "$a"; done`], { encoding: "utf8" })
        .stdout.split("\0")
        .slice(0, -1);
    return runHook(argv, env);
}

const FCV_NAME = /^upshift-mongo-fcv-[0-9a-f]{12}$/;
const DB = "/opt/clearml/data/mongo_4/db";
const CONFIGDB = "/opt/clearml/data/mongo_4/configdb";
const evalOf = (shell: string, cmd: string) => [
    shell,
    "--quiet",
    "--eval",
    `print(JSON.stringify(db.adminCommand(${cmd})))`,
];

/** The docker commands of one mongo-fcv hop, with the container name normalised. */
function expectedFcvCalls(image: string, fcv: string): string[][] {
    const n = "NAME";
    return [
        ["stop", "--time", "120", n],
        ["rm", "-f", n],
        [
            "run",
            "-d",
            "--name",
            n,
            "--label",
            "upshift.helper=true",
            "--network",
            "none",
            "-v",
            `${DB}:/data/db`,
            "-v",
            `${CONFIGDB}:/data/configdb`,
            image,
        ],
        [
            "container",
            "inspect",
            "--format",
            "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}",
            n,
        ],
        ["exec", n, ...evalOf("mongo", "{ping: 1}")],
        ["exec", n, ...evalOf("mongo", `{setFeatureCompatibilityVersion: "${fcv}"}`)],
        ["exec", n, ...evalOf("mongo", "{getParameter: 1, featureCompatibilityVersion: 1}")],
        ["stop", "--time", "120", n],
        ["rm", "-f", n],
    ];
}
const normalise = (calls: string[][]) => calls.map((c) => c.map((a) => (FCV_NAME.test(a) ? "NAME" : a)));

describe("ClearML hooks: Mongo cannot run here, so the exact docker/mongo commands are asserted against a fake docker", function () {
    this.timeout(180000);

    it("Mongo cannot run here: the 1.1.1 -> 1.2.0 component's mongo-fcv steps run mongo 4.0.27, 4.2.16, 4.4.9 on the copy, each setting its own FCV", () => {
        const capture = new Capture();
        const deployed = planChange({ catalog: clearmlCatalog(), to: "1.1.1" }).next;
        const c = new Clearml(
            "hooks-fcv",
            { version: "1.2.0", deployed, backupDir: "/srv/backups", hooksCommand: `node ${CLI}` },
            { transformations: [capture.transformation] },
        );
        let fcv = "3.6";
        for (const [image, want] of [
            ["mongo:4.0.27", "4.0"],
            ["mongo:4.2.16", "4.2"],
            ["mongo:4.4.9", "4.4"],
        ]) {
            const line = capture.byName(`hooks-fcv-1.1.1-to-1.2.0-mongo-fcv-${want}`).props.create as string;
            assert.strictEqual(
                line,
                `UPSHIFT_PARENT_PID=$$ node ${CLI} mongo-fcv --image ${image} --db-dir ${DB} --configdb-dir ${CONFIGDB} --fcv ${want} --shell mongo`,
            );
            const r = runShellLine(line, { FAKE_FCV: fcv });
            assert.strictEqual(r.code, 0, r.stderr);
            assert.deepStrictEqual(normalise(r.calls), expectedFcvCalls(image, want));
            assert.deepStrictEqual(JSON.parse(r.stdout), {
                ok: true,
                operation: "mongo-fcv",
                image,
                db: DB,
                fcv: want,
            });
            fcv = want;
        }
        assert.strictEqual(c.plan.steps.filter((s) => s.kind === "mongo-fcv").length, 3);
    });

    it("Mongo cannot run here: { ok: 0 } from setFeatureCompatibilityVersion exits 1 and the temporary container is still stopped and removed", () => {
        const r = runHook(
            ["mongo-fcv", "--image", "mongo:4.2.16", "--db-dir", DB, "--configdb-dir", CONFIGDB, "--fcv", "4.2"],
            { FAKE_FCV_OK: "0" },
        );
        assert.strictEqual(r.code, 1);
        assert.strictEqual(r.stdout, "", "no success line");
        assert.match(
            r.stderr,
            /setFeatureCompatibilityVersion "4\.2" on mongo:4\.2\.16 did not answer \{ ok: 1 \}: .*fake: cannot set FCV/,
        );
        const calls = normalise(r.calls);
        assert.deepStrictEqual(calls.slice(-2), [
            ["stop", "--time", "120", "NAME"],
            ["rm", "-f", "NAME"],
        ]);
        assert.ok(!calls.some((c) => c.includes("getParameter: 1")), "no read-back after a failed set");
    });

    it("Mongo cannot run here: a mongo that exits on start (code 62, data too old) fails with its log and is removed", () => {
        const r = runHook(
            ["mongo-fcv", "--image", "mongo:4.4.9", "--db-dir", DB, "--configdb-dir", CONFIGDB, "--fcv", "4.4"],
            { FAKE_START_EXIT: "mongo-fcv" },
        );
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /mongo:4\.4\.9 stopped before answering \(exited\): .*code 62/);
        assert.deepStrictEqual(normalise(r.calls).slice(-2), [
            ["stop", "--time", "120", "NAME"],
            ["rm", "-f", "NAME"],
        ]);
        assert.ok(!r.calls.some((c) => c[0] === "exec" && c.join(" ").includes("setFeatureCompatibilityVersion")));
    });

    it("Mongo cannot run here: mongosh and confirm: true for a mongo 7 hop; usage errors exit 2", () => {
        const r = runHook(
            [
                "mongo-fcv",
                "--image",
                "mongo:7.0.22",
                "--db-dir",
                DB,
                "--configdb-dir",
                CONFIGDB,
                "--fcv",
                "7.0",
                "--shell",
                "mongosh",
            ],
            { FAKE_FCV: "6.0" },
        );
        assert.strictEqual(r.code, 0, r.stderr);
        assert.ok(
            r.calls.some(
                (c) =>
                    c.join(" ") ===
                    `exec ${c[1]} ${evalOf("mongosh", '{setFeatureCompatibilityVersion: "7.0", confirm: true}').join(" ")}`,
            ),
        );
        assert.strictEqual(
            runHook([
                "mongo-fcv",
                "--image",
                "mongo:4.0.27",
                "--db-dir",
                "rel/db",
                "--configdb-dir",
                CONFIGDB,
                "--fcv",
                "4.0",
            ]).code,
            2,
        );
        assert.strictEqual(
            runHook([
                "mongo-fcv",
                "--image",
                "mongo:4.0.27",
                "--db-dir",
                DB,
                "--configdb-dir",
                CONFIGDB,
                "--fcv",
                "four",
            ]).code,
            2,
        );
    });

    it("Mongo cannot run here: each 1.16.0 -> 2.3.0 hop starts that server's mongo, elasticsearch, redis and apiserver on the copies, waits for /debug.ping, checks the FCV, then stops everything", () => {
        const capture = new Capture();
        const deployed = planChange({ catalog: clearmlCatalog(), to: "1.16.0" }).next;
        new Clearml(
            "hooks-hop",
            { version: "2.3.0", deployed, backupDir: "/srv/backups", hooksCommand: `node ${CLI}` },
            { transformations: [capture.transformation] },
        );
        const hops: [string, string, string, string, string][] = [
            // 1.17.1: the newest 1.17 release (release notes); ES from Docker Hub from 2.0.0 (the vendor's 2.0.0 file).
            [
                "1.17.1",
                "allegroai/clearml:1.17.1",
                "mongo:5.0.26",
                "docker.elastic.co/elasticsearch/elasticsearch:8.15.3",
                "redis:6.2",
            ],
            ["2.0.0", "allegroai/clearml:2.0.0", "mongo:6.0.19", "elasticsearch:8.17.0", "redis:7.4.1"],
            ["2.3.0", "clearml/server:2.3.0", "mongo:7.0.22", "elasticsearch:8.17.0", "redis:7.4.1"],
        ];
        const fcvs: Record<string, string> = { "1.17.1": "5.0", "2.0.0": "6.0", "2.3.0": "7.0" };
        const db = `${DB}_mongo70`,
            cdb = `${CONFIGDB}_mongo70`,
            es = "/opt/clearml/data/elastic_7_es8",
            redis = "/opt/clearml/data/redis_rdb12";
        for (const [v, api, mongo, elastic, red] of hops) {
            const line = capture.byName(`hooks-hop-1.16.0-to-2.3.0-intermediate-server-${v}`).props.create as string;
            const shell = v === "1.17.1" ? "mongo" : "mongosh";
            assert.strictEqual(
                line,
                `UPSHIFT_PARENT_PID=$$ node ${CLI} intermediate-server --version ${v} --apiserver-image ${api} --mongo-image ${mongo} --elastic-image ${elastic} --redis-image ${red} ` +
                    `--mongo-db ${db} --mongo-configdb ${cdb} --elastic ${es} --redis ${redis} --config /opt/clearml/config --fcv ${fcvs[v]} --shell ${shell}`,
            );
            const r = runShellLine(line, { FAKE_PING_AFTER: "3", FAKE_HOP_FCV: fcvs[v] });
            assert.strictEqual(r.code, 0, r.stderr);
            const b = `upshift-hop-${v}`;
            const runs = r.calls.filter((c) => c[0] === "run");
            assert.deepStrictEqual(
                runs.map((c) => c[c.indexOf("--name") + 1]),
                [`${b}-mongo`, `${b}-elastic`, `${b}-redis`, `${b}-apiserver`],
            );
            assert.deepStrictEqual(runs[0], [
                "run",
                "-d",
                "--name",
                `${b}-mongo`,
                "--label",
                "upshift.helper=true",
                "--network",
                b,
                "--network-alias",
                "mongo",
                "-v",
                `${db}:/data/db`,
                "-v",
                `${cdb}:/data/configdb`,
                mongo,
                "--setParameter",
                "internalQueryMaxBlockingSortMemoryUsageBytes=196100200",
            ]);
            assert.ok(
                runs[1].includes("discovery.type=single-node") &&
                    runs[1].includes("bootstrap.memory_lock=true") &&
                    runs[1].includes("memlock=-1:-1"),
            );
            assert.ok(runs[1].includes(`${es}:/usr/share/elasticsearch/data`) && runs[2].includes(`${redis}:/data`));
            assert.ok(
                runs[3].includes("CLEARML__apiserver__mongo__ensure_db_version_on_startup=true") &&
                    runs[3].includes("/opt/clearml/config:/opt/clearml/config:ro"),
            );
            assert.deepStrictEqual(runs[3].slice(-2), [api, "apiserver"]);
            const pings = r.calls.filter((c) => c[0] === "exec" && c[2] === "python3");
            assert.strictEqual(pings.length, 3, "polled /debug.ping until it answered");
            assert.ok(pings.every((c) => c[c.length - 1].includes("http://localhost:8008/debug.ping")));
            const fcvRead = r.calls.find((c) => c[0] === "exec" && c.join(" ").includes("getParameter"))!;
            assert.deepStrictEqual(fcvRead, [
                "exec",
                `${b}-mongo`,
                ...evalOf(shell, "{getParameter: 1, featureCompatibilityVersion: 1}"),
            ]);
            // Stopped app first, data last, then removed with the network.
            const tail = r.calls.slice(-9).map((c) => c.join(" "));
            assert.deepStrictEqual(tail, [
                `stop --time 120 ${b}-apiserver`,
                `rm -f ${b}-apiserver`,
                `stop --time 120 ${b}-redis`,
                `rm -f ${b}-redis`,
                `stop --time 120 ${b}-elastic`,
                `rm -f ${b}-elastic`,
                `stop --time 120 ${b}-mongo`,
                `rm -f ${b}-mongo`,
                `network rm ${b}`,
            ]);
            assert.strictEqual(JSON.parse(r.stdout).fcv, fcvs[v]);
        }
    });

    it("Mongo cannot run here: a hop whose mongo exits (a skipped hop, clearml-server#267) fails with its log, and every container is removed", () => {
        const r = runHook(
            [
                "intermediate-server",
                "--version",
                "2.0.0",
                "--apiserver-image",
                "allegroai/clearml:2.0.0",
                "--mongo-image",
                "mongo:6.0.19",
                "--elastic-image",
                "es:8.17.0",
                "--redis-image",
                "redis:7.4.1",
                "--mongo-db",
                DB,
                "--mongo-configdb",
                CONFIGDB,
                "--elastic",
                "/d/es",
                "--redis",
                "/d/redis",
            ],
            { FAKE_START_EXIT: "-mongo", FAKE_PING_AFTER: "99" },
        );
        assert.strictEqual(r.code, 1);
        assert.match(
            r.stderr,
            /upshift-hop-2\.0\.0-mongo stopped while ClearML Server 2\.0\.0 was starting \(exited\)/,
        );
        for (const c of ["apiserver", "redis", "elastic", "mongo"])
            assert.ok(r.calls.some((x) => x.join(" ") === `rm -f upshift-hop-2.0.0-${c}`));
        assert.deepStrictEqual(r.calls[r.calls.length - 1], ["network", "rm", "upshift-hop-2.0.0"]);
    });

    it("Mongo cannot run here: an apiserver that leaves the wrong FCV fails the hop", () => {
        const r = runHook(
            [
                "intermediate-server",
                "--version",
                "2.3.0",
                "--apiserver-image",
                "clearml/server:2.3.0",
                "--mongo-image",
                "mongo:7.0.22",
                "--elastic-image",
                "es:8.17.0",
                "--redis-image",
                "redis:7.4.1",
                "--mongo-db",
                DB,
                "--mongo-configdb",
                CONFIGDB,
                "--elastic",
                "/d/es",
                "--redis",
                "/d/redis",
                "--fcv",
                "7.0",
            ],
            { FAKE_FCV: "6.0" },
        );
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /featureCompatibilityVersion is 6\.0, expected 7\.0/);
        assert.deepStrictEqual(r.calls[r.calls.length - 1], ["network", "rm", "upshift-hop-2.3.0"]);
    });
});
