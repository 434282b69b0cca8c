// The KWDB hooks' real code against a fake `docker` on PATH (KWDB cannot run here: its images are not
// available). The fake logs every argv and answers like the docker CLI and `kwbase sql --format=csv`.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const REPO = path.join(__dirname, "..", "..");
const FAKE_BIN = path.join(__dirname, "fixtures", "kwdb", "fake-docker");
const STORE = "/kaiwudb/deploy/kaiwudb-container";
const C = "kaiwudb-container";

const MODULES: Record<string, string> = {
    "kwdb-export": "kwdb/kwdb-export",
    "kwdb-import": "kwdb/kwdb-import",
    "kwdb-certs": "kwdb/kwdb-certs",
    "image-present": "containers/image-present",
};

interface Logged {
    argv: string[];
    stdin?: string;
}

function setup(initial: Record<string, unknown>) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-kwdb-test-"));
    fs.writeFileSync(path.join(dir, "state.json"), JSON.stringify(initial));
    fs.mkdirSync(path.join(dir, "fs", C, STORE), { recursive: true });
    const run = (args: string[], env: Record<string, string> = {}) => {
        const r = spawnSync(
            process.execPath,
            [path.join(__dirname, "fixtures", "kwdb", "run-hook.js"), MODULES[args[0]], ...args],
            {
                cwd: REPO,
                encoding: "utf8",
                env: {
                    ...process.env,
                    PATH: `${FAKE_BIN}:${process.env.PATH}`,
                    FAKE_KWDB: dir,
                    UPSHIFT_PROGRESS_MS: "100000",
                    ...env,
                },
            },
        );
        return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const log = (): Logged[] =>
        fs.existsSync(path.join(dir, "log.jsonl"))
            ? fs
                  .readFileSync(path.join(dir, "log.jsonl"), "utf8")
                  .trim()
                  .split("\n")
                  .map((l) => JSON.parse(l) as Logged)
            : [];
    const sqlRun = () => log().filter((e) => e.argv[0] === "exec" && e.argv[2] === "./kwbase");
    const state = () => JSON.parse(fs.readFileSync(path.join(dir, "state.json"), "utf8"));
    const setState = (s: Record<string, unknown>) => fs.writeFileSync(path.join(dir, "state.json"), JSON.stringify(s));
    const clearLog = () => fs.rmSync(path.join(dir, "log.jsonl"), { force: true });
    return {
        dir,
        run,
        log,
        sqlRun,
        state,
        setState,
        clearLog,
        containerFile: (p: string) => path.join(dir, "fs", C, p),
    };
}

const OLD = {
    status: "running",
    health: "healthy",
    version: "2.2.2",
    secure: false,
    store: STORE,
    dbs: {
        sensors: { ts: true, tables: { "public.meter_data": 1200, "public.cnc": 40 } },
        shop: { ts: false, tables: { "public.orders": 7, "sales.refunds": 2 } },
    },
    users: ["alice", "bob"],
};
const NEW = { status: "running", health: "healthy", version: "3.2.1", secure: false, store: STORE, dbs: {}, users: [] };
const DIR = "upshift-2.2.2-to-3.2.1";
const json = (stdout: string) => JSON.parse(stdout.trim().split("\n").pop()!);

describe("KWDB hooks (stand-in: KWDB cannot run here; real hooks, a fake docker/kwbase on PATH)", function () {
    // Every docker call starts a node process: minutes on a busy 2-core machine.
    this.timeout(240000);

    const P = "upshift-kwdb-private-kaiwudb-container";

    it("stand-in for KWDB: kwdb-export stops C first, runs the exact kwbase SQL in order on a private server with no network, records counts and fingerprints, keeps the export with the backup, C stays stopped", () => {
        const t = setup({ containers: { [C]: OLD } });
        const out = path.join(t.dir, "backups", "kwdb", "2.2.2-to-3.2.1-kwdb-export");
        const r = t.run([
            "kwdb-export",
            "--container",
            C,
            "--store",
            STORE,
            "--dir",
            DIR,
            "--out",
            out,
            "--insecure",
            "--stop-after",
        ]);
        assert.strictEqual(r.code, 0, r.stderr);
        const base = ["exec", P, "./kwbase", "sql", "--insecure", "--host=127.0.0.1:26257", "--format=csv", "-e"];
        const statements = t.sqlRun().map((e) => {
            assert.deepStrictEqual(
                e.argv.slice(0, base.length),
                base,
                "every statement runs on the private server, none on C",
            );
            return e.argv[base.length];
        });
        const tables = [
            ["sensors", "public", "cnc"],
            ["sensors", "public", "meter_data"],
            ["shop", "public", "orders"],
            ["shop", "sales", "refunds"],
        ];
        const counts = tables.map(([d, s, n]) => `SELECT count(*) FROM "${d}"."${s}"."${n}"`);
        const reads = tables.map(([d, s, n]) => `SELECT * FROM "${d}"."${s}"."${n}"`);
        const censusSql = [
            'SHOW TABLES FROM "sensors"',
            counts[0],
            counts[1],
            'SHOW TABLES FROM "shop"',
            counts[2],
            counts[3],
        ];
        assert.deepStrictEqual(statements, [
            "SELECT 1",
            "SHOW DATABASES",
            "SHOW USERS",
            'SHOW TABLES FROM "defaultdb"',
            ...censusSql,
            ...reads,
            `EXPORT INTO CSV "nodelocal://1/${DIR}/sensors" FROM DATABASE "sensors"`,
            `EXPORT INTO CSV "nodelocal://1/${DIR}/shop" FROM DATABASE "shop"`,
            `EXPORT USERS TO SQL "nodelocal://1/${DIR}/users"`,
            `EXPORT CLUSTER SETTING TO SQL "nodelocal://1/${DIR}/settings"`,
            ...censusSql,
            ...reads,
        ]);
        const argvs = t.log().map((e) => e.argv.join(" "));
        // C is stopped before the private server starts and before any SQL: no client write can fall after the census.
        const stop = argvs.indexOf(`stop --time 120 ${C}`);
        const run = argvs.findIndex((a) => a.startsWith("run -d --name " + P));
        assert.ok(
            stop >= 0 && stop < run && run < argvs.findIndex((a) => a.includes("./kwbase sql")),
            argvs.join("\n"),
        );
        assert.strictEqual(
            argvs[run],
            `run -d --name ${P} --label upshift.helper=true --label upshift.kwdb-private-of=${C} --network none --volumes-from ${C} ` +
                `--privileged --ipc=shareable --ulimit=memlock=-1:-1 -w /kaiwudb/bin sha256:322e322e32 ./kwbase start-single-node --insecure --store=${STORE}`,
        );
        // The export dir is emptied first (it must be empty: db-upgrade.md), copied out by docker cp, then the private server goes.
        assert.ok(
            argvs.indexOf(`exec ${P} rm -rf ${STORE}/extern/${DIR}`) <
                argvs.indexOf(
                    `exec ${P} ./kwbase sql --insecure --host=127.0.0.1:26257 --format=csv -e SHOW DATABASES`,
                ),
        );
        assert.ok(argvs.includes(`cp ${P}:${STORE}/extern/${DIR} -`));
        assert.strictEqual(argvs[argvs.length - 1], `rm -f ${P}`);
        assert.ok(!argvs.includes(`start ${C}`), "--stop-after: C is not started again");
        assert.strictEqual(t.state().containers[C].status, "exited");
        assert.strictEqual(t.state().containers[P], undefined);
        const m = JSON.parse(fs.readFileSync(path.join(out, "export.json"), "utf8"));
        assert.deepStrictEqual(m.databases, {
            sensors: { tables: { "public.cnc": 40, "public.meter_data": 1200 } },
            shop: { tables: { "public.orders": 7, "sales.refunds": 2 } },
        });
        assert.deepStrictEqual(Object.keys(m.fingerprints.sensors), ["public.cnc", "public.meter_data"]);
        assert.match(m.fingerprints.shop["public.orders"], /^7:[0-9a-f]{32}$/);
        assert.notStrictEqual(m.fingerprints.sensors["public.cnc"], m.fingerprints.sensors["public.meter_data"]);
        assert.deepStrictEqual(m.users, ["alice", "bob"]);
        assert.ok(
            fs.readFileSync(path.join(out, "data", "sensors", "meta.sql"), "utf8").includes("partition interval 10d"),
            "the kept export is as KWDB wrote it",
        );
        assert.ok(fs.existsSync(path.join(out, "data", "users", "users.sql")));
        assert.ok(fs.existsSync(path.join(out, "data", "settings", "clustersetting.sql")));
        assert.ok(!fs.existsSync(`${out}.partial`));
        const res = json(r.stdout);
        assert.deepStrictEqual(
            [res.ok, res.databases, res.tables, res.rows, res.users, res.stopped],
            [true, 2, 4, 1249, 2, true],
        );
        assert.strictEqual(r.stdout.trim().split("\n").length, 1, "stdout is one JSON line");
    });

    it("stand-in for KWDB: a client writing to C until it stops loses nothing: every row it wrote is in the export (before/after counts)", () => {
        // Before the fix the stop came after the last census: a write in between was in neither the check nor the export.
        const t = setup({
            containers: { [C]: OLD },
            clientWriter: { container: C, db: "shop", table: "public.orders" },
        });
        const out = path.join(t.dir, "export");
        const r = t.run([
            "kwdb-export",
            "--container",
            C,
            "--store",
            STORE,
            "--dir",
            DIR,
            "--out",
            out,
            "--insecure",
            "--stop-after",
        ]);
        assert.strictEqual(r.code, 0, r.stderr);
        const s = t.state();
        assert.ok(s.clientRows > 0, "the client did write");
        const m = JSON.parse(fs.readFileSync(path.join(out, "export.json"), "utf8"));
        assert.strictEqual(m.databases.shop.tables["public.orders"], 7 + s.clientRows);
        assert.strictEqual(
            s.containers[C].dbs.shop.tables["public.orders"],
            m.databases.shop.tables["public.orders"],
            "the store holds no row the export lacks",
        );
        const rows = fs
            .readFileSync(path.join(out, "data", "shop", "public", "orders", "n1.0.csv"), "utf8")
            .split("\n")
            .filter(Boolean).length;
        assert.strictEqual(rows, 7 + s.clientRows);
    });

    it("stand-in for KWDB: an update during the export that keeps every count fails kwdb-export on the fingerprint; nothing kept, C started again", () => {
        const t = setup({ containers: { [C]: OLD }, updateDuringExport: true });
        const out = path.join(t.dir, "export");
        const r = t.run([
            "kwdb-export",
            "--container",
            C,
            "--store",
            STORE,
            "--dir",
            DIR,
            "--out",
            out,
            "--insecure",
            "--stop-after",
        ]);
        assert.strictEqual(r.code, 1, r.stderr);
        assert.match(
            r.stderr,
            /data changed while exporting \(sensors\.public\.cnc: content changed \(fingerprint 40:[0-9a-f]{32}, expected 40:[0-9a-f]{32}\)/,
        );
        assert.ok(!fs.existsSync(out) && !fs.existsSync(`${out}.partial`));
        assert.strictEqual(
            t.state().containers[C].status,
            "running",
            "a failed export starts C again: the old version keeps serving",
        );
        assert.strictEqual(t.state().containers[P], undefined, "the private server is removed");
    });

    it("stand-in for KWDB: a private server left by a killed kwdb-export is removed, and C (stopped by that run) is started again without --stop-after", () => {
        const t = setup({
            containers: {
                [C]: { ...OLD, status: "exited" },
                [P]: { status: "running", health: "", privateOf: C, version: "2.2.2", secure: false, store: STORE },
            },
        });
        const out = path.join(t.dir, "export");
        const r = t.run(["kwdb-export", "--container", C, "--store", STORE, "--dir", DIR, "--out", out, "--insecure"]);
        assert.strictEqual(r.code, 0, r.stderr);
        const argvs = t.log().map((e) => e.argv.join(" "));
        assert.ok(argvs.indexOf(`rm -f ${P}`) < argvs.findIndex((a) => a.startsWith("run -d")));
        assert.strictEqual(argvs[argvs.length - 1], `start ${C}`);
        assert.strictEqual(t.state().containers[C].status, "running");
        assert.strictEqual(json(r.stdout).stopped, false);
    });

    function exported() {
        const t = setup({ containers: { [C]: OLD } });
        const out = path.join(t.dir, "backups", "kwdb", "2.2.2-to-3.2.1-kwdb-export");
        const r = t.run([
            "kwdb-export",
            "--container",
            C,
            "--store",
            STORE,
            "--dir",
            DIR,
            "--out",
            out,
            "--insecure",
            "--stop-after",
        ]);
        assert.strictEqual(r.code, 0, r.stderr);
        // The container is replaced by 3.2.1 on a new, empty store volume.
        fs.rmSync(path.join(t.dir, "fs"), { recursive: true });
        fs.mkdirSync(t.containerFile(STORE), { recursive: true });
        t.clearLog();
        return { t, out };
    }

    it("stand-in for KWDB: kwdb-import into 3.2.1 strips PARTITION INTERVAL from the copy, IMPORTs in order, verifies counts, lists users to reset", () => {
        const { t, out } = exported();
        t.setState({ containers: { [C]: { ...NEW, dbs: {}, users: [] } } });
        const r = t.run([
            "kwdb-import",
            "--container",
            C,
            "--store",
            STORE,
            "--from",
            out,
            "--insecure",
            "--strip-partition-interval",
        ]);
        assert.strictEqual(r.code, 0, r.stderr);
        const statements = t
            .sqlRun()
            .map((e) => e.argv[e.argv.length - 1])
            .filter((s) => /^(IMPORT|DROP)/.test(s));
        assert.deepStrictEqual(statements, [
            `IMPORT DATABASE CSV DATA ("nodelocal://1/${DIR}/sensors")`,
            `IMPORT DATABASE CSV DATA ("nodelocal://1/${DIR}/shop")`,
            `IMPORT USERS SQL DATA ("nodelocal://1/${DIR}/users/users.sql")`,
            `IMPORT CLUSTER SETTING SQL DATA ("nodelocal://1/${DIR}/settings/clustersetting.sql")`,
        ]);
        const argvs = t.log().map((e) => e.argv.join(" "));
        assert.ok(argvs.includes(`cp - ${C}:${STORE}/extern/${DIR}`));
        const inContainer = fs.readFileSync(t.containerFile(`${STORE}/extern/${DIR}/sensors/meta.sql`), "utf8");
        assert.ok(!/partition\s+interval/i.test(inContainer), inContainer);
        assert.ok(inContainer.includes("activetime 1d;"));
        assert.ok(
            fs.readFileSync(path.join(out, "data", "sensors", "meta.sql"), "utf8").includes("partition interval"),
            "the export kept with the backup is unchanged",
        );
        const res = json(r.stdout);
        assert.deepStrictEqual(
            [res.ok, res.databases, res.tables, res.rows, res.partitionIntervalRemoved],
            [true, 2, 4, 1249, 3],
        );
        assert.deepStrictEqual(res.usersToReset, ["alice", "bob"]);
        assert.match(r.stderr, /passwords are not exported .*: alice, bob/);
        assert.deepStrictEqual(t.state().containers[C].users, ["alice", "bob"]);

        // A rerun changes nothing: everything is already there and matches.
        t.clearLog();
        const again = t.run([
            "kwdb-import",
            "--container",
            C,
            "--store",
            STORE,
            "--from",
            out,
            "--insecure",
            "--strip-partition-interval",
        ]);
        assert.strictEqual(again.code, 0, again.stderr);
        assert.deepStrictEqual(
            t
                .sqlRun()
                .map((e) => e.argv[e.argv.length - 1])
                .filter((s) => /^(IMPORT DATABASE|IMPORT USERS|DROP)/.test(s)),
            [],
        );
    });

    it("stand-in for KWDB: without the strip, 3.2.1 rejects the 2.x meta.sql and kwdb-import exits 1 saying so", () => {
        const { t, out } = exported();
        t.setState({ containers: { [C]: { ...NEW, dbs: {}, users: [] } } });
        const r = t.run(["kwdb-import", "--container", C, "--store", STORE, "--from", out, "--insecure"]);
        assert.strictEqual(r.code, 1);
        assert.match(
            r.stderr,
            /upshift kwdb-import: kwbase sql in kaiwudb-container failed on `IMPORT DATABASE CSV DATA .*syntax error/,
        );
    });

    it("stand-in for KWDB: row counts differ after import -> exit 1 with the differences; the export stays", () => {
        const { t, out } = exported();
        t.setState({ containers: { [C]: { ...NEW, dbs: {}, users: [] } }, importLoss: 1 });
        const r = t.run([
            "kwdb-import",
            "--container",
            C,
            "--store",
            STORE,
            "--from",
            out,
            "--insecure",
            "--strip-partition-interval",
        ]);
        assert.strictEqual(r.code, 1);
        assert.match(
            r.stderr,
            /the import does not match the export \(4 differences: sensors\.public\.cnc: 39 rows, expected 40; sensors\.public\.meter_data: 1199 rows, expected 1200/,
        );
        assert.strictEqual(r.stdout, "", "no success line");
        assert.ok(fs.existsSync(path.join(out, "export.json")));
        // A rerun (after the cause is fixed) drops its own partial import, marked in the store, and imports again.
        const s = t.state();
        s.importLoss = 0;
        t.setState(s);
        t.clearLog();
        const again = t.run([
            "kwdb-import",
            "--container",
            C,
            "--store",
            STORE,
            "--from",
            out,
            "--insecure",
            "--strip-partition-interval",
        ]);
        assert.strictEqual(again.code, 0, again.stderr);
        const st = t
            .sqlRun()
            .map((e) => e.argv[e.argv.length - 1])
            .filter((x) => /^(IMPORT DATABASE|DROP)/.test(x));
        assert.deepStrictEqual(st, [
            'DROP DATABASE "sensors" CASCADE',
            'DROP DATABASE "shop" CASCADE',
            `IMPORT DATABASE CSV DATA ("nodelocal://1/${DIR}/sensors")`,
            `IMPORT DATABASE CSV DATA ("nodelocal://1/${DIR}/shop")`,
        ]);
    });

    it("stand-in for KWDB: kwdb-import refuses a target that already holds other data it did not import", () => {
        const { t, out } = exported();
        t.setState({
            containers: { [C]: { ...NEW, dbs: { shop: { ts: false, tables: { "public.orders": 99 } } }, users: [] } },
        });
        const r = t.run([
            "kwdb-import",
            "--container",
            C,
            "--store",
            STORE,
            "--from",
            out,
            "--insecure",
            "--strip-partition-interval",
        ]);
        assert.strictEqual(r.code, 3, "a refusal: nothing was changed");
        assert.match(
            r.stderr,
            /database shop already exists in kaiwudb-container with other content: the import target must be the new, empty store; nothing was changed/,
        );
        assert.deepStrictEqual(
            t
                .sqlRun()
                .map((e) => e.argv[e.argv.length - 1])
                .filter((x) => /^(IMPORT|DROP)/.test(x)),
            [],
        );
    });

    const STATE = `${STORE}/extern/.upshift-import-${DIR}.json`;
    const importArgs = (out: string) => [
        "kwdb-import",
        "--container",
        C,
        "--store",
        STORE,
        "--from",
        out,
        "--insecure",
        "--strip-partition-interval",
    ];
    const dropsAndImports = (t: ReturnType<typeof setup>) =>
        t
            .sqlRun()
            .map((e) => e.argv[e.argv.length - 1])
            .filter((x) => /^(IMPORT DATABASE|DROP)/.test(x));

    it("stand-in for KWDB: a rerun of kwdb-import after clients wrote to an imported database refuses (exit 3) and drops nothing: the new rows stay", () => {
        const { t, out } = exported();
        t.setState({ containers: { [C]: { ...NEW, dbs: {}, users: [] } } });
        const first = t.run(importArgs(out));
        assert.strictEqual(first.code, 0, first.stderr);
        // The new version serves; a client adds rows; then the step runs again (e.g. a rerun of `pulumi up`).
        const s = t.state();
        s.containers[C].dbs.shop.tables["public.orders"] += 5;
        t.setState(s);
        const before = JSON.stringify(t.state().containers[C].dbs);
        t.clearLog();
        const again = t.run(importArgs(out));
        assert.strictEqual(again.code, 3, again.stderr);
        assert.match(
            again.stderr,
            /upshift kwdb-import: database shop in kaiwudb-container was imported and verified by an earlier run and has changed since \(5 rows or tables more than the export; shop\.public\.orders: 12 rows, expected 7\): it holds writes made after the import and is never dropped\. Nothing was changed/,
        );
        assert.deepStrictEqual(dropsAndImports(t), [], "no DROP DATABASE, no IMPORT");
        assert.strictEqual(
            JSON.stringify(t.state().containers[C].dbs),
            before,
            "every row, the 5 new ones included, is still there",
        );
        assert.deepStrictEqual(JSON.parse(fs.readFileSync(t.containerFile(STATE), "utf8")).databases, {
            sensors: "imported",
            shop: "imported",
        });
    });

    it("stand-in for KWDB: a database recorded as imported that is gone is refused (exit 3), not imported again", () => {
        const { t, out } = exported();
        t.setState({ containers: { [C]: { ...NEW, dbs: {}, users: [] } } });
        assert.strictEqual(t.run(importArgs(out)).code, 0);
        const s = t.state();
        delete s.containers[C].dbs.sensors;
        t.setState(s);
        t.clearLog();
        const again = t.run(importArgs(out));
        assert.strictEqual(again.code, 3, again.stderr);
        assert.match(
            again.stderr,
            /database sensors was imported into kaiwudb-container by an earlier run and is no longer there/,
        );
        assert.deepStrictEqual(dropsAndImports(t), []);
    });

    it("stand-in for KWDB: killed during the IMPORT of one database, a rerun drops and redoes only that one; the verified one is left alone", () => {
        const { t, out } = exported();
        t.setState({ containers: { [C]: { ...NEW, dbs: {}, users: [] } } });
        assert.strictEqual(t.run(importArgs(out)).code, 0);
        // What a kill during `IMPORT ... shop` leaves: shop recorded as importing, partly loaded.
        const st = JSON.parse(fs.readFileSync(t.containerFile(STATE), "utf8"));
        st.databases.shop = "importing";
        fs.writeFileSync(t.containerFile(STATE), JSON.stringify(st));
        const s = t.state();
        s.containers[C].dbs.shop.tables["public.orders"] = 3;
        t.setState(s);
        t.clearLog();
        const again = t.run(importArgs(out));
        assert.strictEqual(again.code, 0, again.stderr);
        assert.deepStrictEqual(dropsAndImports(t), [
            'DROP DATABASE "shop" CASCADE',
            `IMPORT DATABASE CSV DATA ("nodelocal://1/${DIR}/shop")`,
        ]);
        assert.deepStrictEqual(t.state().containers[C].dbs.shop.tables, { "public.orders": 7, "sales.refunds": 2 });
        assert.deepStrictEqual(JSON.parse(fs.readFileSync(t.containerFile(STATE), "utf8")).databases, {
            sensors: "imported",
            shop: "imported",
        });
    });

    it("stand-in for KWDB: from a 2.1 server without EXPORT USERS/CLUSTER SETTING, users come from SHOW USERS and the import still carries them", () => {
        const t = setup({ containers: { [C]: { ...OLD, version: "2.1.0" } } });
        const out = path.join(t.dir, "export");
        const r = t.run([
            "kwdb-export",
            "--container",
            C,
            "--store",
            STORE,
            "--dir",
            DIR,
            "--out",
            out,
            "--insecure",
            "--stop-after",
        ]);
        assert.strictEqual(r.code, 0, r.stderr);
        assert.match(r.stderr, /cluster settings must be set again by hand/);
        assert.strictEqual(json(r.stdout).settingsExported, false);
        assert.strictEqual(
            fs.readFileSync(path.join(out, "data", "users", "users.sql"), "utf8"),
            'CREATE USER "alice";\nCREATE USER "bob";\n',
        );
        fs.rmSync(path.join(t.dir, "fs"), { recursive: true });
        fs.mkdirSync(t.containerFile(STORE), { recursive: true });
        t.setState({ containers: { [C]: { ...NEW, dbs: {}, users: [] } } });
        t.clearLog();
        const imp = t.run([
            "kwdb-import",
            "--container",
            C,
            "--store",
            STORE,
            "--from",
            out,
            "--insecure",
            "--strip-partition-interval",
        ]);
        assert.strictEqual(imp.code, 0, imp.stderr);
        assert.deepStrictEqual(
            t
                .sqlRun()
                .map((e) => e.argv[e.argv.length - 1])
                .filter((x) => /^IMPORT (USERS|CLUSTER)/.test(x)),
            [`IMPORT USERS SQL DATA ("nodelocal://1/${DIR}/users/users.sql")`],
        );
        assert.deepStrictEqual(t.state().containers[C].users, ["alice", "bob"]);
    });

    it("stand-in for KWDB: a write during the export fails kwdb-export before anything is kept", () => {
        const t = setup({ containers: { [C]: OLD }, writeDuringExport: true });
        const out = path.join(t.dir, "export");
        const r = t.run([
            "kwdb-export",
            "--container",
            C,
            "--store",
            STORE,
            "--dir",
            DIR,
            "--out",
            out,
            "--insecure",
            "--stop-after",
        ]);
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /data changed while exporting .*stop the clients writing to KWDB and rerun/);
        assert.ok(!fs.existsSync(out) && !fs.existsSync(`${out}.partial`));
        assert.strictEqual(t.state().containers[C].status, "running", "started again: the old version keeps serving");
    });

    it("stand-in for KWDB: secure mode authenticates every kwbase sql with --certs-dir=/kaiwudb/certs, never --insecure or a password", () => {
        const t = setup({ containers: { [C]: { ...OLD, secure: true } } });
        const out = path.join(t.dir, "export");
        const r = t.run([
            "kwdb-export",
            "--container",
            C,
            "--store",
            STORE,
            "--dir",
            DIR,
            "--out",
            out,
            "--certs-dir",
            "/kaiwudb/certs",
        ]);
        assert.strictEqual(r.code, 0, r.stderr);
        const runs = t.sqlRun();
        assert.ok(runs.length > 10);
        for (const e of runs) {
            assert.deepStrictEqual(e.argv.slice(0, 7), [
                "exec",
                P,
                "./kwbase",
                "sql",
                "--certs-dir=/kaiwudb/certs",
                "--host=127.0.0.1:26257",
                "--format=csv",
            ]);
            assert.ok(!e.argv.some((a) => /insecure|password/i.test(a)));
        }
        const insecure = setup({ containers: { [C]: { ...OLD, secure: true } } }).run([
            "kwdb-export",
            "--container",
            C,
            "--store",
            STORE,
            "--dir",
            DIR,
            "--out",
            out,
            "--insecure",
        ]);
        assert.strictEqual(insecure.code, 1, "the wrong mode is an error, not a silent fallback");
    });

    it("stand-in for KWDB: kwdb-certs writes a given CA key through stdin only, makes node and root client certs with kwbase cert, and a rerun makes nothing", () => {
        const t = setup({ containers: {} });
        const KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEsecretsecretsecret\n-----END RSA PRIVATE KEY-----";
        const CERT = "-----BEGIN CERTIFICATE-----\nMIIDcacertificate\n-----END CERTIFICATE-----";
        const r = t.run(
            [
                "kwdb-certs",
                "--volume",
                "kwdb_certs",
                "--image",
                "kwdb/kwdb:3.2.1",
                "--hosts",
                C,
                "--helper-image",
                "upshift-test/tools:latest",
            ],
            { KWDB_CA_KEY: KEY, KWDB_CA_CERT: CERT },
        );
        assert.strictEqual(r.code, 0, r.stderr);
        const log = t.log();
        for (const e of log)
            assert.ok(!e.argv.join(" ").includes("secretsecret"), `key on a command line: ${e.argv.join(" ")}`);
        assert.ok(!r.stdout.includes("secretsecret") && !r.stderr.includes("secretsecret"));
        const written = log.filter((e) => e.stdin !== undefined).map((e) => [e.argv[e.argv.length - 1], e.stdin]);
        assert.deepStrictEqual(written, [
            ["ca.key", KEY + "\n"],
            ["ca.crt", CERT + "\n"],
        ]);
        const certCmds = log
            .filter((e) => e.argv.includes("--entrypoint"))
            .map((e) => e.argv.slice(e.argv.indexOf("--entrypoint")).join(" "));
        assert.deepStrictEqual(certCmds, [
            "--entrypoint /kaiwudb/bin/kwbase kwdb/kwdb:3.2.1 cert create-client root --certs-dir=/kaiwudb/certs --ca-key=/kaiwudb/certs/ca.key",
            `--entrypoint /kaiwudb/bin/kwbase kwdb/kwdb:3.2.1 cert create-node 127.0.0.1 localhost 0.0.0.0 ${C} --certs-dir=/kaiwudb/certs --ca-key=/kaiwudb/certs/ca.key`,
        ]);
        t.clearLog();
        const again = t.run(["kwdb-certs", "--volume", "kwdb_certs", "--image", "kwdb/kwdb:3.2.1", "--hosts", C], {
            KWDB_CA_KEY: KEY,
            KWDB_CA_CERT: CERT,
        });
        assert.strictEqual(again.code, 0, again.stderr);
        assert.strictEqual(json(again.stdout).unchanged, true);
        assert.ok(!t.log().some((e) => e.argv.includes("--entrypoint") || e.stdin !== undefined));
    });

    it("stand-in for KWDB: kwdb-certs without a CA makes one with kwbase cert create-ca", () => {
        const t = setup({ containers: {} });
        const r = t.run(["kwdb-certs", "--volume", "kwdb_certs", "--image", "kaiwudb/kaiwudb:2.2.2"]);
        assert.strictEqual(r.code, 0, r.stderr);
        const subs = t
            .log()
            .filter((e) => e.argv.includes("cert"))
            .map((e) => e.argv[e.argv.indexOf("cert") + 1]);
        assert.deepStrictEqual(subs, ["create-ca", "create-client", "create-node"]);
        assert.deepStrictEqual(json(r.stdout).made, [
            "ca.crt",
            "ca.key",
            "client.root.crt",
            "client.root.key",
            "node.crt",
            "node.key",
        ]);
    });

    it("the hooks CLI lists the KWDB operations (bin/upshift help)", () => {
        const r = spawnSync(process.execPath, [path.join(REPO, "bin", "upshift"), "help"], {
            cwd: REPO,
            encoding: "utf8",
        });
        for (const op of ["kwdb-export", "kwdb-import", "kwdb-certs", "image-present"])
            assert.match(r.stdout, new RegExp(`^  ${op} `, "m"));
    });

    it("image-present: a missing tar-loaded image fails with the operator's fix; a present one passes", () => {
        const t = setup({ containers: {}, images: ["kwdb/kwdb:3.2.1"] });
        const how = "load it on that host with `docker load < KaiwuDB.tar`, or set kwdb:images";
        const missing = t.run(["image-present", "--image", "kaiwudb/kaiwudb:2.2.2", "--how", how]);
        assert.strictEqual(missing.code, 1);
        assert.strictEqual(
            missing.stderr.trim(),
            `upshift image-present: image kaiwudb/kaiwudb:2.2.2 is not on the Docker host. ${how}`,
        );
        const ok = t.run(["image-present", "--image", "kwdb/kwdb:3.2.1"]);
        assert.strictEqual(ok.code, 0, ok.stderr);
        assert.strictEqual(json(ok.stdout).image, "kwdb/kwdb:3.2.1");
    });
});
