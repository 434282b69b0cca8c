// The hooks CLI refuses every malformed argument with exit 2, a message naming the flag and what
// to give instead, and the operation's usage, before it touches anything: Docker is a fixture that
// records any call (tests/unit/fixtures/no-docker), and no call may reach it (issue 12, "Bad input").
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.join(__dirname, "..", "..");
const CLI = path.join(ROOT, "bin", "upshift");
const NO_DOCKER = path.join(__dirname, "fixtures", "no-docker");

interface Case {
    argv: string[];
    says: RegExp;
    files?: (dir: string) => void;
}

/** Files some cases point at: a backup dir with a manifest, a directory, a plain file. */
function layout(dir: string): void {
    fs.mkdirSync(path.join(dir, "cvat", "b1"), { recursive: true });
    fs.writeFileSync(path.join(dir, "plain-file"), "x");
    // Backups that are not what they claim (issue 12): each has a manifest that parses.
    const backup = (where: string, m: Record<string, unknown>, archive = "x".repeat(10)) => {
        fs.mkdirSync(path.join(dir, where), { recursive: true });
        fs.writeFileSync(path.join(dir, where, "v.tar.zst"), archive);
        fs.writeFileSync(
            path.join(dir, where, "manifest.json"),
            JSON.stringify({
                format: "upshift-backup/1",
                createdAt: "2026-12-01T00:00:00.000Z",
                archives: [
                    {
                        name: "v",
                        source: { type: "volume", name: "v" },
                        file: "v.tar.zst",
                        bytes: 10,
                        sourceBytes: 5,
                        files: 1,
                        sha256: "ab".repeat(32),
                    },
                ],
                ...m,
            }),
        );
    };
    const point = "2.2.0-to-2.3.0-a1-restore-point";
    backup(`clearml/${point}`, { product: "cvat", id: point, version: "2.2.0" }); // a CVAT manifest in ClearML's place
    backup(`cvat/${point}`, { product: "cvat", id: point, version: "2.3.0" }); // taken at 2.2.0, says 2.3.0
    backup("cvat/short", { product: "cvat", id: "short", version: "2.2.0" }, "x".repeat(7)); // the manifest lies about the size
    backup("cvat/renamed", { product: "cvat", id: "original", version: "2.2.0" });
    backup("cvat/gone", { product: "cvat", id: "gone", version: "2.2.0" });
    fs.rmSync(path.join(dir, "cvat", "gone", "v.tar.zst"));
}

const CASES: Case[] = [
    { argv: ["nosuchop"], says: /unknown operation "nosuchop"/ },
    { argv: [], says: /usage: upshift <operation>/ },
    // orphans
    { argv: ["orphans", "--state", "-"], says: /--stack PROJECT\/STACK is required/ },
    { argv: ["orphans", "--stack", "dev", "--state", "-"], says: /--stack dev: expected PROJECT\/STACK/ },
    {
        argv: ["orphans", "--stack", "upshift/dev x", "--state", "-"],
        says: /--stack upshift\/dev x: expected PROJECT\/STACK/,
    },
    {
        argv: ["orphans", "--stack", "upshift/dev"],
        says: /--state FILE is required: the output of `pulumi stack export`/,
    },
    {
        argv: ["orphans", "--stack", "upshift/dev", "--state", "/nonexistent/state.json"],
        says: /--state \/nonexistent\/state.json: cannot read it \(ENOENT\)/,
    },
    {
        argv: ["orphans", "--stack", "upshift/dev", "--state", "DIR/plain-file"],
        says: /--state \/.*\/plain-file: not JSON/,
    },
    {
        argv: ["orphans", "--stack", "upshift/dev", "--state", "-", "--grace", "soon"],
        says: /--grace soon: expected a whole number of seconds/,
    },
    // backup
    {
        argv: ["backup", "--product", "cvat", "--version", "2.2.0", "--id", "x", "--volume", "v"],
        says: /--to is required/,
    },
    {
        argv: ["backup", "--product", "cvat", "--version", "2.2.0", "--to", "/tmp/x", "--volume", "v"],
        says: /--id is required/,
    },
    {
        argv: ["backup", "--product", "cvat", "--version", "2.2.0", "--id", "x", "--to", "/tmp/x"],
        says: /give at least one --volume NAME or --dir PATH/,
    },
    {
        argv: ["backup", "--product", "cvat", "--version", "2.2.0", "--id", "a b", "--to", "/tmp/x", "--volume", "v"],
        says: /--id "a b" must be letters, digits/,
    },
    {
        argv: [
            "backup",
            "--product",
            "cvat",
            "--version",
            "2.2.0",
            "--id",
            "x",
            "--to",
            "/tmp/x",
            "--volume",
            "v",
            "--stop",
            "app",
            "--pg-census",
            "db",
        ],
        says: /--pg-census db: also give it in --stop/,
    },
    {
        argv: ["backup", "--product", "cv'at", "--version", "2.2.0", "--id", "x", "--to", "/tmp/x", "--volume", "v"],
        says: /--product "cv'at" must be letters, digits/,
    },
    {
        argv: [
            "backup",
            "--product",
            "cvat",
            "--version",
            "2.2.0",
            "--id",
            "../../etc",
            "--to",
            "/tmp/x",
            "--volume",
            "v",
        ],
        says: /--id "\.\.\/\.\.\/etc" must be letters/,
    },
    {
        argv: [
            "backup",
            "--product",
            "cvat",
            "--version",
            "2.2.0",
            "--id",
            "x",
            "--to",
            "/tmp/x",
            "--volume",
            "v",
            "--volume",
            "v",
        ],
        says: /would both be archived as/,
    },
    {
        argv: ["backup", "--product", "cvat", "--version", "2.2.0", "--id", "x", "--to", "/tmp/x", "--volume"],
        says: /--volume/,
    },
    {
        argv: [
            "backup",
            "--product",
            "cvat",
            "--version",
            "2.2.0",
            "--id",
            "x",
            "--to",
            "/tmp/x",
            "--volume",
            "v",
            "--bogus",
        ],
        says: /--bogus/,
    },
    // restore
    { argv: ["restore", "--volume", "a=b"], says: /--backup .* is required/ },
    { argv: ["restore", "--backup", "DIR/cvat/b1"], says: /--volume SRC=TARGET|--dir SRC=PATH/ },
    { argv: ["restore", "--backup", "DIR/cvat/b1", "--volume", "no-equals-sign"], says: /--volume no-equals-sign/ },
    { argv: ["restore", "--backup", "DIR/cvat/b1", "--volume", "=target"], says: /--volume =target/ },
    // verify
    {
        argv: ["restore", "--backup", "DIR/clearml/2.2.0-to-2.3.0-a1-restore-point", "--volume", "v=t"],
        says: /its manifest is of cvat backup .*, not of clearml backup/,
    },
    {
        argv: ["restore", "--backup", "DIR/cvat/2.2.0-to-2.3.0-a1-restore-point", "--volume", "v=t"],
        says: /is taken at 2\.2\.0, but its manifest says version 2\.3\.0/,
    },
    {
        argv: ["restore", "--backup", "DIR/cvat/short", "--volume", "v=t"],
        says: /archive v\.tar\.zst is 7 bytes, the manifest records 10/,
    },
    {
        argv: ["restore", "--backup", "DIR/cvat/gone", "--volume", "v=t"],
        says: /archive v\.tar\.zst is missing \(ENOENT\)/,
    },
    {
        argv: ["restore", "--backup", "DIR/cvat/b1", "--volume", "v=t"],
        says: /--backup .*cvat\/b1: no backup at .*cannot read manifest\.json/,
    },
    {
        argv: ["verify", "--backup", "DIR/cvat/renamed"],
        says: /its manifest is of cvat backup original, not of cvat backup renamed/,
    },
    { argv: ["verify", "--backup", "DIR/cvat/short"], says: /archive v\.tar\.zst is 7 bytes, the manifest records 10/ },
    {
        argv: ["verify", "--backup", "DIR/cvat/2.2.0-to-2.3.0-a1-restore-point"],
        says: /is taken at 2\.2\.0, but its manifest says version 2\.3\.0/,
    },
    { argv: ["verify"], says: /--backup DIR\/P\/ID is required/ },
    { argv: ["verify", "--backup"], says: /--backup/ },
    // stop / start / exec
    { argv: ["stop"], says: /--container C1,C2 is required/ },
    { argv: ["stop", "--container", ","], says: /--container C1,C2 is required/ },
    { argv: ["start"], says: /--container C1,C2 is required/ },
    {
        argv: ["start", "--container", "c", "--wait-healthy", "soon"],
        says: /--wait-healthy soon: expected a number of seconds/,
    },
    {
        argv: ["start", "--container", "c", "--wait-healthy", "-5"],
        says: /Option '--wait-healthy' argument is ambiguous/,
    },
    {
        argv: ["start", "--container", "c", "--wait-healthy=-5"],
        says: /--wait-healthy -5: expected a number of seconds/,
    },
    { argv: ["exec", "--container", "c"], says: /-- CMD/ },
    { argv: ["exec", "--", "true"], says: /--container/ },
    // preflight
    { argv: ["preflight"], says: /nothing to check/ },
    { argv: ["preflight", "--target", "/tmp", "--factor", "lots"], says: /--factor lots: expected a positive number/ },
    { argv: ["preflight", "--target", "/tmp", "--factor", "0"], says: /--factor 0: expected a positive number/ },
    // pg
    { argv: ["pg-dump", "--out", "/tmp/x"], says: /--container/ },
    { argv: ["pg-dump", "--container", "c", "--out", "/tmp/x", "--jobs", "many"], says: /--jobs/ },
    { argv: ["pg-restore", "--container", "c"], says: /--from/ },
    { argv: ["pg-migrate", "--container", "c", "--new-image", "i", "--work", "/tmp/w"], says: /--new-volume/ },
    // S3 and retention
    { argv: ["push", "--bucket", "b"], says: /--backup/ },
    { argv: ["pull", "--bucket", "b", "--to", "/tmp/x"], says: /--key-prefix/ },
    { argv: ["prune", "--backup-dir", "/tmp/x"], says: /--keep N is required/ },
    { argv: ["prune", "--keep", "0", "--backup-dir", "/tmp/x"], says: /--keep must be an integer >= 1/ },
    { argv: ["prune", "--keep", "2.5", "--backup-dir", "/tmp/x"], says: /--keep must be an integer >= 1/ },
    { argv: ["prune", "--keep", "2"], says: /give --backup-dir, --bucket or both/ },
    {
        argv: ["prune", "--keep", "2", "--backup-dir", "/tmp/x", "--protect", "b1"],
        says: /--protect b1: give PRODUCT\/ID, or ID with --product/,
    },
    // ClearML, KWDB
    { argv: ["copy-dir", "--from", "/a", "--to", "/b", "--owner", "me"], says: /--owner/ },
    { argv: ["mongo-fcv", "--image", "m", "--db-dir", "/d", "--configdb-dir", "/c", "--fcv", "four"], says: /--fcv/ },
    {
        argv: ["kwdb-export", "--container", "c", "--store", "/s", "--dir", "d", "--out", "/tmp/x"],
        says: /--insecure|--certs-dir/,
    },
    {
        argv: [
            "kwdb-import",
            "--container",
            "c",
            "--store",
            "/s",
            "--from",
            "/tmp/x",
            "--insecure",
            "--certs-dir",
            "/c",
        ],
        says: /--insecure|--certs-dir/,
    },
];

describe("hooks CLI: every malformed argument is refused with exit 2, naming the flag, before Docker is called", function () {
    this.timeout(120000);
    let dir: string;
    let log: string;
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-badinput-"));
        layout(dir);
        log = path.join(dir, "docker-calls.log");
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it(`has at least 30 cases (${CASES.length})`, () => assert.ok(CASES.length >= 30));

    for (const c of CASES) {
        it(`upshift ${c.argv.join(" ")}`, () => {
            const argv = c.argv.map((a) => a.replace(/^DIR\//, `${dir}/`));
            const r = spawnSync(process.execPath, [CLI, ...argv], {
                encoding: "utf8",
                env: {
                    ...process.env,
                    PATH: `${NO_DOCKER}:${process.env.PATH}`,
                    NO_DOCKER_LOG: log,
                    UPSHIFT_STATE_DIR: path.join(dir, "state"),
                },
            });
            assert.strictEqual(r.status, 2, `exit ${r.status}; stderr: ${r.stderr}`);
            assert.strictEqual(r.stdout.includes('"ok":true'), false);
            assert.match(r.stderr, c.says);
            assert.ok(
                !fs.existsSync(log),
                `docker was called: ${fs.existsSync(log) ? fs.readFileSync(log, "utf8") : ""}`,
            );
        });
    }
});
