import * as assert from "assert";
import * as fs from "fs";
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
    it("accepts the dev stack and fills defaults", () => {
        const c = validateConfig({ ...good, "upshift:backupDir": "./backups" }, isSecret);
        assert.strictEqual(c.cvat!.version, "2.3.0");
        assert.deepStrictEqual(c.stack.retention, { keep: 5 });
        assert.strictEqual(c.stack.backupDir, "./backups");
        assert.ok(!("dbPassword" in c.cvat!), "secrets are not part of the plain config");
    });

    it("accepts structured values given as JSON, as Pulumi stores them", () => {
        const c = validateConfig({
            ...good,
            "cvat:images": '{"postgres:15-alpine":"mirror.local/postgres:15-alpine"}',
            "upshift:s3": '{"bucket":"my-backups","create":true}',
            "upshift:retention": '{"keep":3}',
            "upshift:dockerHost": "ssh://deploy@host",
        }, isSecret);
        assert.strictEqual(c.cvat!.images!["postgres:15-alpine"], "mirror.local/postgres:15-alpine");
        assert.deepStrictEqual(c.stack.s3, { bucket: "my-backups", create: true, prefix: "", noncurrentVersionDays: 30 });
    });

    it("ignores config of Pulumi and its providers", () => {
        assert.deepStrictEqual(problems({ ...good, "aws:region": "eu-west-1", "docker:host": "unix:///x" }), []);
    });

    // Each bad config and the message it must produce (key path + fix).
    const plaintext = (k: string) => isSecret(k) && !["cvat:dbPassword", "cvat:djangoSecretKey", "kwdb:caKey"].includes(k);
    const cases: [string, Record<string, string>, RegExp, ((k: string) => boolean)?][] = [
        ["unknown product", { ...good, "gitlab:version": "16.0.0" }, /^gitlab:version: unknown product "gitlab"; upshift manages cvat, clearml, kwdb.*Fix: pulumi config rm gitlab:version/],
        ["unknown cvat key", { ...good, "cvat:imagez": "{}" }, /^cvat:imagez: unknown setting\. Fix: pulumi config rm cvat:imagez/],
        ["unknown stack key", { ...good, "upshift:backupdir": "/b" }, /^upshift:backupdir: unknown setting/],
        ["version not semver", { ...good, "cvat:version": "2.3" }, /^cvat:version "2\.3" is not a version like 2\.3\.0\. Fix: pulumi config set cvat:version/],
        ["version with a v", { ...good, "cvat:version": "v2.3.0" }, /^cvat:version "v2\.3\.0" is not a version like 2\.3\.0/],
        ["version not in the catalog", { ...good, "cvat:version": "2.99.0" }, /^cvat:version 2\.99\.0 is not a cvat release upshift knows \(2\.0\.0 to 2\.73\.0\); the nearest is 2\.73\.0\. Fix: pulumi config set cvat:version 2\.73\.0/],
        ["a patch release the vendor never made", { ...good, "cvat:version": "2.4.10" }, /^cvat:version 2\.4\.10 is not a cvat release upshift knows \(2\.0\.0 to 2\.73\.0\); the nearest are 2\.4\.9 and 2\.5\.0\. Fix: pulumi config set cvat:version 2\.4\.9,/],
        ["a minor release's missing patch", { ...good, "cvat:version": "2.40.2" }, /the nearest are 2\.40\.1 and 2\.41\.0\./],
        ["version before 2.0.0", { ...good, "cvat:version": "1.7.0" }, /^cvat:version 1\.7\.0 is older than upshift supports \(2\.0\.0\): CVAT before 2\.0\.0 has no direct upgrade/],
        ["version of the wrong type", { ...good, "cvat:version": "true" }, /^cvat:version: .*expected string.*Fix: pulumi config set cvat:version/],
        ["settings without a version", { "cvat:images": "{}" }, /^cvat: settings are present but cvat:version is not set/],
        ["plaintext DB password", { "cvat:version": "2.3.0", "cvat:dbPassword": "plain" }, /^cvat:dbPassword is set in plaintext but must be a secret\. Fix: pulumi config set --secret cvat:dbPassword <value>/, plaintext],
        ["missing DB password", { "cvat:version": "2.3.0" }, /^cvat:dbPassword is required when cvat:version is set\. Fix: pulumi config set --secret cvat:dbPassword/],
        ["plaintext Django key", { ...good, "cvat:djangoSecretKey": "k" }, /^cvat:djangoSecretKey is set in plaintext/, plaintext],
        ["images not an object", { ...good, "cvat:images": "postgres" }, /^cvat:images: .*expected record.*Fix: pulumi config set cvat:images/],
        ["image override empty", { ...good, "cvat:images": '{"postgres:15-alpine":""}' }, /^cvat:images\.postgres:15-alpine: .*Fix: pulumi config set --path cvat:images\.postgres:15-alpine/],
        ["volumes not an object", { ...good, "cvat:volumes": "[1]" }, /^cvat:volumes: .*expected record/],
        ["bad docker host", { ...good, "upshift:dockerHost": "myhost:2375" }, /^upshift:dockerHost: must start with unix:\/\/, tcp:\/\/, ssh:\/\/ or npipe:\/\//],
        ["bad bucket name", { ...good, "upshift:s3": '{"bucket":"My_Bucket"}' }, /^upshift:s3\.bucket: must be a valid S3 bucket name/],
        ["s3 without bucket", { ...good, "upshift:s3": '{"create":true}' }, /^upshift:s3\.bucket: .*Fix: pulumi config set --path upshift:s3\.bucket/],
        ["unknown s3 field", { ...good, "upshift:s3": '{"bucket":"b-1","acl":"public-read"}' }, /^upshift:s3\.acl: unknown setting\. Fix: pulumi config rm --path upshift:s3\.acl/],
        ["retention zero", { ...good, "upshift:retention": '{"keep":0}' }, /^upshift:retention\.keep: .*>=1/],
        ["retention not a number", { ...good, "upshift:retention": '{"keep":"many"}' }, /^upshift:retention\.keep: .*expected number/],
        ["clearml dataDir relative", { "clearml:version": "1.16.0", "clearml:dataDir": "opt/clearml" }, /^clearml:dataDir: must be an absolute host path/],
        ["kwdb port out of range", { "kwdb:version": "3.2.1", "kwdb:ports": '{"sql":70000}' }, /^kwdb:ports\.sql: .*<=65535/],
        ["kwdb secure not a boolean", { "kwdb:version": "3.2.1", "kwdb:secure": "yes" }, /^kwdb:secure: .*expected boolean/],
        ["kwdb plaintext CA key", { "kwdb:version": "3.2.1", "kwdb:caKey": "k" }, /^kwdb:caKey is set in plaintext but must be a secret/, plaintext],
        ["empty registry mirror", { ...good, "cvat:registryMirror": "" }, /^cvat:registryMirror: .*Fix: pulumi config set cvat:registryMirror/],
    ];

    it("cvat:version accepts every release the vendor shipped from 2.0.0 (the compose files' tags, fixtures/upstream/cvat.json)", () => {
        const vendor = Object.keys((JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "upstream", "cvat.json"), "utf8")) as { releases: object }).releases);
        assert.strictEqual(vendor.length, 125);
        for (const v of vendor) assert.deepStrictEqual(problems({ ...good, "cvat:version": v }), [], v);
    });

    it("cvat:version names a real release before 2.0.0 as such, and a made-up one with the nearest real ones", () => {
        assert.match(problems({ ...good, "cvat:version": "1.7.0" })[0], /^cvat:version 1\.7\.0 is older than upshift supports \(2\.0\.0\): CVAT before/);
        assert.match(problems({ ...good, "cvat:version": "1.8.0" })[0], /^cvat:version 1\.8\.0 is older than upshift supports \(2\.0\.0\) and not a cvat release \(the nearest are 1\.7\.0 and 2\.0\.0-alpha\)/);
    });

    it("kwdb:version: there is no 2.0.0; 2.0.3.2 is named as a real release upshift does not deploy, with the way on", () => {
        assert.match(problems({ "kwdb:version": "2.0.0" })[0], /^kwdb:version 2\.0\.0 is older than upshift supports \(2\.0\.4\) and not a kwdb release/);
        assert.match(problems({ "kwdb:version": "2.0.3.2" })[0], /^kwdb:version 2\.0\.3\.2 is a kwdb release that upshift does not deploy: .*replace a 2\.0\.3\.2 image with 2\.0\.4 on the same store/);
        assert.deepStrictEqual(problems({ "kwdb:version": "3.0.1" }), []);
    });

    for (const [what, raw, expected, secretKeys] of cases) {
        it(`rejects ${what} with a message naming the key and the fix`, () => {
            const found = problems(raw, secretKeys ?? isSecret);
            assert.ok(found.some((p) => expected.test(p)), `no problem matched ${expected}; got:\n${found.join("\n")}`);
        });
    }

    it("reports every problem at once", () => {
        const found = problems({ "cvat:version": "2.3", "upshift:retention": '{"keep":0}', "foo:bar": "1" });
        assert.strictEqual(found.length, 3, found.join("\n"));
    });

    it("never echoes a secret value in a message", () => {
        const found = problems({ "cvat:version": "2.3.0", "cvat:dbPassword": "hunter2-plaintext" }, () => false);
        assert.ok(found.length > 0);
        assert.ok(found.every((p) => !p.includes("hunter2")), found.join("\n"));
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
        const secrets = configKeys().filter((k) => /^(cvat|clearml|kwdb):(dbPassword|djangoSecretKey|agentAccessKey|agentSecretKey|caKey|caCert)$/.test(k)).sort();
        assert.deepStrictEqual(listed(projectFile, /^#   ([a-z]+:[A-Za-z0-9]+) +S /gm), secrets);
        const doc = fs.readFileSync(path.join(root, "docs", "config.md"), "utf8");
        assert.deepStrictEqual(listed(doc, /^\| `([a-z]+:[A-Za-z0-9]+)` \| \w+ \| yes \|/gm), secrets);
    });
});
