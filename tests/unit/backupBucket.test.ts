// components/backupBucket.ts under Pulumi's unit-test mocks (no Pulumi CLI, no AWS account):
// what it registers, with which inputs and options (../shared/reference/pulumi-notes.md "Unit tests").
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
// The component registers resources only when constructed, so importing it before the mocks is fine.
import { BackupBucket, BackupBucketArgs } from "../../components/backupBucket";

interface Registered {
    type: string;
    name: string;
    inputs: Record<string, any>;
}

const registered: Registered[] = [];

/** Installed in before(): other test files install their own mocks, and the last call wins. */
function installMocks(): void {
    pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs) {
                registered.push({ type: args.type, name: args.name, inputs: args.inputs });
                // an auto-named bucket gets a physical name like the provider would give it
                const state =
                    args.type === "aws:s3/bucket:Bucket"
                        ? { ...args.inputs, bucket: args.inputs.bucket ?? `${args.name}-a1b2c3` }
                        : args.inputs;
                return { id: `${args.name}-id`, state };
            },
            call(args: pulumi.runtime.MockCallArgs) {
                return args.inputs;
            },
        },
        "upshift",
        "unit",
        false,
    );
}

const out = <T>(o: pulumi.Output<T>) => new Promise<T>((r) => o.apply(r));

/** Builds the component, capturing each child's options with a transformation (options are not
 *  passed to mocks), and waits until every child is registered. */
async function build(name: string, args: BackupBucketArgs) {
    const opts = new Map<string, pulumi.CustomResourceOptions>();
    const c = new BackupBucket(name, args, {
        transformations: [
            (a) => {
                opts.set(a.name, a.opts as pulumi.CustomResourceOptions);
                return undefined;
            },
        ],
    });
    const bucketName = await out(c.bucketName);
    const children = [c.bucket, c.versioning, c.encryption, c.publicAccessBlock, c.lifecycle].filter(
        (x): x is NonNullable<typeof x> => x !== undefined,
    );
    await Promise.all(children.map((r) => out(r.id)));
    const mine = registered.filter((r) => r.name.startsWith(`${name}-`));
    const one = (type: string) => {
        const l = mine.filter((r) => r.type === type);
        assert.strictEqual(l.length, 1, `exactly one ${type}`);
        return l[0];
    };
    return { c, bucketName, opts, mine, one };
}

describe("BackupBucket component (Pulumi mocks)", () => {
    before(installMocks);
    it("creates a versioned, encrypted (AES256), non-public bucket with a lifecycle rule", async () => {
        const { c, bucketName, opts, mine, one } = await build("offsite", { bucketName: "acme-upshift-backups" });
        assert.strictEqual(c.managed, true);
        assert.strictEqual(bucketName, "acme-upshift-backups");
        assert.deepStrictEqual(mine.map((r) => r.type).sort(), [
            "aws:s3/bucket:Bucket",
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "aws:s3/bucketVersioning:BucketVersioning",
        ]);
        assert.ok(
            mine.every((r) => r.name.startsWith("offsite-")),
            "children are named after the component",
        );

        const bucket = one("aws:s3/bucket:Bucket");
        assert.strictEqual(bucket.inputs.bucket, "acme-upshift-backups");
        assert.strictEqual(bucket.inputs.forceDestroy, false);

        assert.deepStrictEqual(one("aws:s3/bucketVersioning:BucketVersioning").inputs, {
            bucket: "acme-upshift-backups",
            versioningConfiguration: { status: "Enabled" },
        });
        assert.deepStrictEqual(
            one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs,
            {
                bucket: "acme-upshift-backups",
                rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
            },
        );
        assert.deepStrictEqual(one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs, {
            bucket: "acme-upshift-backups",
            blockPublicAcls: true,
            blockPublicPolicy: true,
            ignorePublicAcls: true,
            restrictPublicBuckets: true,
        });
        assert.deepStrictEqual(one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs, {
            bucket: "acme-upshift-backups",
            rules: [
                {
                    id: "expire-noncurrent-versions",
                    status: "Enabled",
                    filter: {},
                    noncurrentVersionExpiration: { noncurrentDays: 30 },
                },
                {
                    id: "abort-incomplete-multipart-uploads",
                    status: "Enabled",
                    filter: {},
                    abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
                },
            ],
        });

        // Options: the bucket is retained and protected; its settings resources are not; all are children.
        const bo = opts.get("offsite-bucket")!;
        assert.strictEqual(bo.retainOnDelete, true);
        assert.strictEqual(bo.protect, true);
        for (const n of [
            "offsite-versioning",
            "offsite-encryption",
            "offsite-public-access-block",
            "offsite-lifecycle",
        ]) {
            const o = opts.get(n)!;
            assert.ok(o, n);
            assert.notStrictEqual(o.protect, true, `${n} not protected`);
            assert.notStrictEqual(o.retainOnDelete, true, `${n} not retained`);
            assert.strictEqual(o.parent, c, `${n} is a child of the component`);
        }
        assert.strictEqual(bo.parent, c);
        // The lifecycle rule on a versioned bucket waits for versioning (the provider docs' example).
        assert.deepStrictEqual(opts.get("offsite-lifecycle")!.dependsOn, [c.versioning]);
    });

    it("uses SSE-KMS with bucket keys when a KMS key is given, and the configured retention days", async () => {
        const { bucketName, one } = await build("kms", {
            kmsKeyId: "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            noncurrentVersionDays: 90,
            abortIncompleteMultipartDays: 2,
        });
        assert.strictEqual(bucketName, "kms-bucket-a1b2c3", "auto-named when no name is given");
        assert.deepStrictEqual(
            one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs.rules,
            [
                {
                    applyServerSideEncryptionByDefault: {
                        sseAlgorithm: "aws:kms",
                        kmsMasterKeyId: "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                    },
                    bucketKeyEnabled: true,
                },
            ],
        );
        const rules = one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs.rules;
        assert.deepStrictEqual(rules[0].noncurrentVersionExpiration, { noncurrentDays: 90 });
        assert.deepStrictEqual(rules[1].abortIncompleteMultipartUpload, { daysAfterInitiation: 2 });
        assert.strictEqual(one("aws:s3/bucketVersioning:BucketVersioning").inputs.bucket, "kms-bucket-a1b2c3");
    });

    it("an existing bucket: manages nothing, only exposes the name", async () => {
        const before = registered.length;
        const { c, bucketName, mine } = await build("existing", { existingBucketName: "their-backups" });
        assert.strictEqual(bucketName, "their-backups");
        assert.strictEqual(c.managed, false);
        assert.deepStrictEqual(mine, []);
        assert.ok(
            registered.slice(before).every((r) => r.type === "upshift:backup:Bucket"),
            "only the component itself is registered",
        );
        assert.strictEqual(c.bucket, undefined);
    });

    it("refuses contradictory or invalid settings with a clear message", () => {
        assert.throws(
            () => new BackupBucket("bad1", { existingBucketName: "x-bucket", kmsKeyId: "k" }),
            /existingBucketName manages nothing/,
        );
        assert.throws(
            () => new BackupBucket("bad2", { noncurrentVersionDays: 0 }),
            /noncurrentVersionDays must be a whole number of days >= 1/,
        );
        assert.throws(
            () => new BackupBucket("bad3", { abortIncompleteMultipartDays: 1.5 }),
            /abortIncompleteMultipartDays/,
        );
    });
});
