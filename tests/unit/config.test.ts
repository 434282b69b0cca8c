import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError, configKeys, validateConfig } from "../../config/schema";

const good = { "cvat:version": "2.3.0", "cvat:dbPassword": "s3cret" };
const secrets = new Set(["cvat:dbPassword", "cvat:djangoSecretKey", "kwdb:caKey"]);
const isSecret = (k: string) => secrets.has(k);

/** Validates and returns the problems (or [] when valid). */
function problems(raw: Record<string, string>, secretKeys: (k: string) => boolean = isSecret): string[] {
    try {
        validateConfig(raw, secretKeys);
        return [];
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
        assert.match(e.message, /nothing was changed/);
        return e.problems;
    }
}

describe("config validation", () => {
    it("the backup directory defaults to the user's data directory, outside the checkout, and expands ~/ (issue 12, finding 7)", () => {
        const c = validateConfig(good, isSecret);
        assert.strictEqual(
            c.stack.backupDir,
            path.join(process.env.XDG_DATA_HOME || path.join(os.homedir(), ".local", "share"), "upshift", "backups"),
        );
        assert.ok(!c.stack.backupDir.startsWith(path.join(__dirname, "..", "..")), "not inside the checkout");
        assert.strictEqual(
            validateConfig({ ...good, "upshift:backupDir": "~/bk" }, isSecret).stack.backupDir,
            path.join(os.homedir(), "bk"),
        );
    });

    it("accepts the dev stack and fills defaults", () => {
        const c = validateConfig({ ...good, "upshift:backupDir": "./backups" }, isSecret);
        assert.strictEqual(c.cvat!.version, "2.3.0");
        assert.deepStrictEqual(c.stack.retention, { keep: 5 });
        assert.strictEqual(c.stack.backupDir, "./backups");
        assert.ok(!("dbPassword" in c.cvat!), "secrets are not part of the plain config");
    });

    it("accepts structured values given as JSON, as Pulumi stores them", () => {
        const c = validateConfig(
            {
                ...good,
                "cvat:images": '{"postgres:15-alpine":"mirror.local/postgres:15-alpine"}',
                "upshift:s3": '{"bucket":"my-backups","create":true}',
                "upshift:retention": '{"keep":3}',
                "upshift:dockerHost": "ssh://deploy@host",
            },
            isSecret,
        );
        assert.strictEqual(c.cvat!.images!["postgres:15-alpine"], "mirror.local/postgres:15-alpine");
        assert.deepStrictEqual(c.stack.s3, {
            bucket: "my-backups",
            create: true,
            prefix: "",
            noncurrentVersionDays: 30,
        });
    });

    it("ignores config of Pulumi and its providers", () => {
        assert.deepStrictEqual(problems({ ...good, "aws:region": "eu-west-1", "docker:host": "unix:///x" }), []);
    });

    // Each bad config and the message it must produce (key path + fix).
    const plaintext = (k: string) =>
        isSecret(k) && !["cvat:dbPassword", "cvat:djangoSecretKey", "kwdb:caKey"].includes(k);
    const cases: [string, Record<string, string>, RegExp, ((k: string) => boolean)?][] = [
        [
            "unknown product",
            { ...good, "gitlab:version": "16.0.0" },
            /^gitlab:version: unknown product "gitlab"; upshift manages cvat, clearml, kwdb.*Fix: pulumi config rm gitlab:version/,
        ],
        [
            "unknown cvat key",
            { ...good, "cvat:imagez": "{}" },
            /^cvat:imagez: unknown setting\. Fix: pulumi config rm cvat:imagez/,
        ],
        ["unknown stack key", { ...good, "upshift:backupdir": "/b" }, /^upshift:backupdir: unknown setting/],
        [
            "version not semver",
            { ...good, "cvat:version": "2.3" },
            /^cvat:version "2\.3" is not a version like 2\.3\.0\. Fix: pulumi config set cvat:version/,
        ],
        [
            "version with a v",
            { ...good, "cvat:version": "v2.3.0" },
            /^cvat:version "v2\.3\.0" is not a version like 2\.3\.0/,
        ],
        [
            "version not in the catalog",
            { ...good, "cvat:version": "2.99.0" },
            /^cvat:version 2\.99\.0 is not a cvat release upshift knows \(2\.0\.0 to 2\.73\.0\); the nearest is 2\.73\.0\. Fix: pulumi config set cvat:version 2\.73\.0/,
        ],
        [
            "a patch release the vendor never made",
            { ...good, "cvat:version": "2.4.10" },
            /^cvat:version 2\.4\.10 is not a cvat release upshift knows \(2\.0\.0 to 2\.73\.0\); the nearest are 2\.4\.9 and 2\.5\.0\. Fix: pulumi config set cvat:version 2\.4\.9,/,
        ],
        [
            "a minor release's missing patch",
            { ...good, "cvat:version": "2.40.2" },
            /the nearest are 2\.40\.1 and 2\.41\.0\./,
        ],
        [
            "version before 2.0.0",
            { ...good, "cvat:version": "1.7.0" },
            /^cvat:version 1\.7\.0 is older than upshift supports \(2\.0\.0\): CVAT before 2\.0\.0 has no direct upgrade/,
        ],
        [
            "version of the wrong type",
            { ...good, "cvat:version": "true" },
            /^cvat:version: .*expected string.*Fix: pulumi config set cvat:version/,
        ],
        [
            "settings without a version",
            { "cvat:images": "{}" },
            /^cvat: settings are present but cvat:version is not set/,
        ],
        [
            "plaintext DB password",
            { "cvat:version": "2.3.0", "cvat:dbPassword": "plain" },
            /^cvat:dbPassword is set in plaintext but must be a secret\. Fix: pulumi config set --secret cvat:dbPassword <value>/,
            plaintext,
        ],
        [
            "missing DB password",
            { "cvat:version": "2.3.0" },
            /^cvat:dbPassword is required when cvat:version is set\. Fix: pulumi config set --secret cvat:dbPassword/,
        ],
        [
            "plaintext Django key",
            { ...good, "cvat:djangoSecretKey": "k" },
            /^cvat:djangoSecretKey is set in plaintext/,
            plaintext,
        ],
        [
            "images not an object",
            { ...good, "cvat:images": "postgres" },
            /^cvat:images: .*expected record.*Fix: pulumi config set cvat:images/,
        ],
        [
            "image override empty",
            { ...good, "cvat:images": '{"postgres:15-alpine":""}' },
            /^cvat:images\.postgres:15-alpine: .*Fix: pulumi config set --path cvat:images\.postgres:15-alpine/,
        ],
        ["volumes not an object", { ...good, "cvat:volumes": "[1]" }, /^cvat:volumes: .*expected record/],
        [
            "bad docker host",
            { ...good, "upshift:dockerHost": "myhost:2375" },
            /^upshift:dockerHost: must start with unix:\/\/, tcp:\/\/, ssh:\/\/ or npipe:\/\//,
        ],
        [
            "bad bucket name",
            { ...good, "upshift:s3": '{"bucket":"My_Bucket"}' },
            /^upshift:s3\.bucket: must be a valid S3 bucket name/,
        ],
        [
            "s3 without bucket",
            { ...good, "upshift:s3": '{"create":true}' },
            /^upshift:s3\.bucket: .*Fix: pulumi config set --path upshift:s3\.bucket/,
        ],
        [
            "unknown s3 field",
            { ...good, "upshift:s3": '{"bucket":"b-1","acl":"public-read"}' },
            /^upshift:s3\.acl: unknown setting\. Fix: pulumi config rm --path upshift:s3\.acl/,
        ],
        ["retention zero", { ...good, "upshift:retention": '{"keep":0}' }, /^upshift:retention\.keep: .*>=1/],
        [
            "retention not a number",
            { ...good, "upshift:retention": '{"keep":"many"}' },
            /^upshift:retention\.keep: .*expected number/,
        ],
        [
            "clearml dataDir relative",
            { "clearml:version": "1.16.0", "clearml:dataDir": "opt/clearml" },
            /^clearml:dataDir: must be an absolute host path/,
        ],
        [
            "kwdb port out of range",
            { "kwdb:version": "3.2.1", "kwdb:ports": '{"sql":70000}' },
            /^kwdb:ports\.sql: .*<=65535/,
        ],
        [
            "kwdb secure not a boolean",
            { "kwdb:version": "3.2.1", "kwdb:secure": "yes" },
            /^kwdb:secure: .*expected boolean/,
        ],
        [
            "kwdb plaintext CA key",
            { "kwdb:version": "3.2.1", "kwdb:caKey": "k" },
            /^kwdb:caKey is set in plaintext but must be a secret/,
            plaintext,
        ],
        [
            "empty registry mirror",
            { ...good, "cvat:registryMirror": "" },
            /^cvat:registryMirror: .*Fix: pulumi config set cvat:registryMirror/,
        ],
        // Every other key (issue 12, "Bad input"): each names the key and the fix.
        [
            "empty backup dir",
            { ...good, "upshift:backupDir": "" },
            /^upshift:backupDir: .*Fix: pulumi config set upshift:backupDir/,
        ],
        [
            "empty helper image",
            { ...good, "upshift:helperImage": "" },
            /^upshift:helperImage: .*Fix: pulumi config set upshift:helperImage/,
        ],
        [
            "empty hooks command",
            { ...good, "upshift:hooksCommand": "" },
            /^upshift:hooksCommand: .*Fix: pulumi config set upshift:hooksCommand/,
        ],
        ["empty docker host", { ...good, "upshift:dockerHost": "" }, /^upshift:dockerHost: must start with unix:\/\//],
        [
            "s3 not an object",
            { ...good, "upshift:s3": "bucket" },
            /^upshift:s3: .*expected object.*Fix: pulumi config set upshift:s3/,
        ],
        [
            "s3.create not a boolean",
            { ...good, "upshift:s3": '{"bucket":"b-1","create":"yes"}' },
            /^upshift:s3\.create: .*expected boolean.*Fix: pulumi config set --path upshift:s3\.create/,
        ],
        [
            "s3.noncurrentVersionDays zero",
            { ...good, "upshift:s3": '{"bucket":"b-1","noncurrentVersionDays":0}' },
            /^upshift:s3\.noncurrentVersionDays: .*>0.*Fix:/,
        ],
        [
            "s3.prefix not a string",
            { ...good, "upshift:s3": '{"bucket":"b-1","prefix":5}' },
            /^upshift:s3\.prefix: .*expected string.*Fix: pulumi config set --path upshift:s3\.prefix/,
        ],
        [
            "s3.region not a string",
            { ...good, "upshift:s3": '{"bucket":"b-1","region":7}' },
            /^upshift:s3\.region: .*expected string/,
        ],
        [
            "unknown retention field",
            { ...good, "upshift:retention": '{"keep":2,"every":1}' },
            /^upshift:retention\.every: unknown setting\. Fix: pulumi config rm --path upshift:retention\.every/,
        ],
        [
            "retention not a whole number",
            { ...good, "upshift:retention": '{"keep":1.5}' },
            /^upshift:retention\.keep: .*expected int/,
        ],
        [
            "empty cvat volume name",
            { ...good, "cvat:volumes": '{"cvat_db":""}' },
            /^cvat:volumes\.cvat_db: .*Fix: pulumi config set --path cvat:volumes\.cvat_db/,
        ],
        [
            "clearml agentServices not a boolean",
            { "clearml:version": "1.16.0", "clearml:agentServices": "yes" },
            /^clearml:agentServices: .*expected boolean.*Fix: pulumi config set clearml:agentServices/,
        ],
        [
            "clearml version not in the catalog",
            { "clearml:version": "9.9.9" },
            /^clearml:version 9\.9\.9 is not a clearml release upshift knows/,
        ],
        [
            "clearml images not an object",
            { "clearml:version": "1.16.0", "clearml:images": "[]" },
            /^clearml:images: .*expected record/,
        ],
        [
            "clearml volume name not a string",
            { "clearml:version": "1.16.0", "clearml:volumes": '{"mongo":5}' },
            /^clearml:volumes\.mongo: .*expected string/,
        ],
        [
            "kwdb storePath relative",
            { "kwdb:version": "3.2.1", "kwdb:storePath": "kaiwudb" },
            /^kwdb:storePath: must be an absolute path\. Fix: pulumi config set kwdb:storePath/,
        ],
        [
            "kwdb http port zero",
            { "kwdb:version": "3.2.1", "kwdb:ports": '{"http":0}' },
            /^kwdb:ports\.http: .*>=1.*Fix: pulumi config set --path kwdb:ports\.http/,
        ],
        [
            "kwdb brpc port not a number",
            { "kwdb:version": "3.2.1", "kwdb:ports": '{"brpc":"x"}' },
            /^kwdb:ports\.brpc: .*expected number/,
        ],
        [
            "unknown kwdb port",
            { "kwdb:version": "3.2.1", "kwdb:ports": '{"ssh":22}' },
            /^kwdb:ports\.ssh: unknown setting\. Fix: pulumi config rm --path kwdb:ports\.ssh/,
        ],
        ["kwdb version not a version", { "kwdb:version": "3.2" }, /^kwdb:version "3\.2" is not a version like/],
        [
            "empty kwdb registry mirror",
            { "kwdb:version": "3.2.1", "kwdb:registryMirror": "" },
            /^kwdb:registryMirror: .*Fix: pulumi config set kwdb:registryMirror/,
        ],
    ];

    it(`covers at least 40 bad values (${cases.length})`, () => assert.ok(cases.length >= 40));

    it("cvat:version accepts every release the vendor shipped from 2.0.0 (the compose files' tags, fixtures/upstream/cvat.json)", () => {
        const vendor = Object.keys(
            (
                JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "upstream", "cvat.json"), "utf8")) as {
                    releases: object;
                }
            ).releases,
        );
        assert.strictEqual(vendor.length, 125);
        for (const v of vendor) assert.deepStrictEqual(problems({ ...good, "cvat:version": v }), [], v);
    });

    it("cvat:version names a real release before 2.0.0 as such, and a made-up one with the nearest real ones", () => {
        assert.match(
            problems({ ...good, "cvat:version": "1.7.0" })[0],
            /^cvat:version 1\.7\.0 is older than upshift supports \(2\.0\.0\): CVAT before/,
        );
        assert.match(
            problems({ ...good, "cvat:version": "1.8.0" })[0],
            /^cvat:version 1\.8\.0 is older than upshift supports \(2\.0\.0\) and not a cvat release \(the nearest are 1\.7\.0 and 2\.0\.0-alpha\)/,
        );
    });

    it("kwdb:version: there is no 2.0.0; 2.0.3.2 is named as a real release upshift does not deploy, with the way on", () => {
        assert.match(
            problems({ "kwdb:version": "2.0.0" })[0],
            /^kwdb:version 2\.0\.0 is older than upshift supports \(2\.0\.4\) and not a kwdb release/,
        );
        assert.match(
            problems({ "kwdb:version": "2.0.3.2" })[0],
            /^kwdb:version 2\.0\.3\.2 is a kwdb release that upshift does not deploy: .*replace a 2\.0\.3\.2 image with 2\.0\.4 on the same store/,
        );
        assert.deepStrictEqual(problems({ "kwdb:version": "3.0.1" }), []);
    });

    for (const [what, raw, expected, secretKeys] of cases) {
        it(`rejects ${what} with a message naming the key and the fix`, () => {
            const found = problems(raw, secretKeys ?? isSecret);
            assert.ok(
                found.some((p) => expected.test(p)),
                `no problem matched ${expected}; got:\n${found.join("\n")}`,
            );
        });
    }

    it("reports every problem at once", () => {
        const found = problems({ "cvat:version": "2.3", "upshift:retention": '{"keep":0}', "foo:bar": "1" });
        assert.strictEqual(found.length, 3, found.join("\n"));
    });

    it("never echoes a secret value in a message", () => {
        const found = problems({ "cvat:version": "2.3.0", "cvat:dbPassword": "hunter2-plaintext" }, () => false);
        assert.ok(found.length > 0);
        assert.ok(
            found.every((p) => !p.includes("hunter2")),
            found.join("\n"),
        );
    });
});

describe("config keys: where users look, and what the engine accepts", () => {
    const root = path.join(__dirname, "..", "..");
    const projectFile = fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8");
    const listed = (text: string, re: RegExp) => [...text.matchAll(re)].map((m) => m[1]).sort();

    it("Pulumi.yaml declares no config block (the engine refuses typed keys of other namespaces; typed upshift: keys without a default become required)", () => {
        // sdk/go/common/workspace/project.go, Project.Validate; proven by the e2e suite loading the project.
        assert.doesNotMatch(projectFile, /^config:/m);
    });

    it("every key the schema reads is listed in Pulumi.yaml's comment and in docs/config.md, and nothing else is", () => {
        const keys = configKeys().sort();
        assert.deepStrictEqual(listed(projectFile, /^#   ([a-z]+:[A-Za-z0-9]+) /gm), keys);
        const doc = fs.readFileSync(path.join(root, "docs", "config.md"), "utf8");
        assert.deepStrictEqual(listed(doc, /^\| `([a-z]+:[A-Za-z0-9]+)` \|/gm), keys);
    });

    it("the secret keys are marked secret in both lists", () => {
        const secrets = configKeys()
            .filter((k) =>
                /^(cvat|clearml|kwdb):(dbPassword|djangoSecretKey|agentAccessKey|agentSecretKey|caKey|caCert)$/.test(k),
            )
            .sort();
        assert.deepStrictEqual(listed(projectFile, /^#   ([a-z]+:[A-Za-z0-9]+) +S /gm), secrets);
        const doc = fs.readFileSync(path.join(root, "docs", "config.md"), "utf8");
        assert.deepStrictEqual(listed(doc, /^\| `([a-z]+:[A-Za-z0-9]+)` \| \w+ \| yes \|/gm), secrets);
    });
});
