// Stand-in for the pulumi-docker 5.2.0 resource plugin (a Terraform bridge over
// kreuzwerker/terraform-provider-docker at 5074970c71ce), for the end-to-end tests only: the real
// plugin cannot be built on this machine. It drives the Docker engine named by DOCKER_HOST through
// the `docker` CLI, and through the Engine API for container creation (the CLI cannot express a
// multi-word entrypoint or an exec-form healthcheck). Scope and gaps: ./README.md.
// "kw:" comments name the kreuzwerker file (internal/provider/...) a behaviour mirrors.
import { execFile } from "child_process";
import * as http from "http";
import * as grpc from "@grpc/grpc-js";
import { CheckFailure, CheckResult, CreateResult, DiffResult, main, Provider, ReadResult, UpdateResult } from "@pulumi/pulumi/provider";
import * as provproto from "@pulumi/pulumi/proto/provider_pb";

// ---------------------------------------------------------------------------------------------
// Property values as the Node provider server hands them over (Struct.toJavaScript).

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Props = Record<string, Json>;

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

const isObject = (v: Json | undefined): v is { [k: string]: Json } => typeof v === "object" && v !== null && !Array.isArray(v);
const isSecret = (v: Json | undefined): boolean => isObject(v) && v[SIG_KEY] === SECRET_SIG;

/** The value with every secret wrapper removed. */
function reveal(v: Json): Json {
    if (isSecret(v)) return reveal((v as { [k: string]: Json }).value ?? null);
    if (Array.isArray(v)) return v.map(reveal);
    if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, reveal(x)]));
    return v;
}
const revealAll = (p: Props): Props => reveal(p) as Props;

function containsSecret(v: Json | undefined): boolean {
    if (isSecret(v)) return true;
    if (Array.isArray(v)) return v.some(containsSecret);
    if (isObject(v)) return Object.values(v).some(containsSecret);
    return false;
}

function containsUnknown(v: Json | undefined): boolean {
    if (v === UNKNOWN) return true;
    if (Array.isArray(v)) return v.some(containsUnknown);
    if (isObject(v)) return Object.values(v).some(containsUnknown);
    return false;
}

const secret = (v: Json): Json => ({ [SIG_KEY]: SECRET_SIG, value: v });

/** Plain outputs, with every top-level key that was secret in `like` wrapped as a secret again. */
function resecret(outs: Props, ...like: Props[]): Props {
    const result: Props = {};
    for (const [k, v] of Object.entries(outs)) {
        result[k] = like.some((l) => containsSecret(l[k])) && !isSecret(v) ? secret(v) : v;
    }
    return result;
}

// ---------------------------------------------------------------------------------------------
// Docker access.

class DockerError extends Error {}

/** Runs the docker CLI against DOCKER_HOST (inherited from the engine's environment). */
function docker(args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
        execFile("docker", args, { env: process.env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
            if (err) reject(new DockerError(`docker ${args[0]} ${args[1] ?? ""}: ${(stderr || err.message).trim()}`));
            else resolve(stdout);
        });
    });
}

const isNotFound = (e: unknown): boolean => e instanceof DockerError && /no such|not found/i.test(e.message);

async function inspect<T>(kind: "container" | "network" | "volume" | "image", id: string): Promise<T | undefined> {
    try {
        const [obj] = JSON.parse(await docker([kind, "inspect", id])) as T[];
        return obj;
    } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
    }
}

/** One Engine API call (unix:// or plain tcp:// DOCKER_HOST), for what the CLI cannot express. */
function engineApi(method: string, urlPath: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const host = process.env.DOCKER_HOST || "unix:///var/run/docker.sock";
    const target: http.RequestOptions = host.startsWith("unix://")
        ? { socketPath: host.slice("unix://".length) }
        : (() => {
            const u = new URL(host.replace(/^tcp:/, "http:"));
            return { host: u.hostname, port: Number(u.port || 2375) };
        })();
    if (process.env.DOCKER_TLS_VERIFY) throw new Error("docker stand-in: TLS DOCKER_HOST is not supported");
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
        const req = http.request({
            ...target, method, path: urlPath,
            headers: payload ? { "Content-Type": "application/json", "Content-Length": payload.length } : {},
        }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => {
                const text = Buffer.concat(chunks).toString("utf8");
                let json: unknown = text;
                try { json = text ? JSON.parse(text) : undefined; } catch { /* plain text error */ }
                resolve({ status: res.statusCode ?? 0, json });
            });
        });
        req.on("error", reject);
        if (payload) req.write(payload);
        req.end();
    });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retries `attempt` while it reports "pending", like the SDK's StateChangeConf (Delay, MinTimeout, Timeout). */
async function retryPending(attempt: () => Promise<"done" | "pending">, delayMs: number, everyMs: number, timeoutMs: number, what: string): Promise<void> {
    const end = Date.now() + timeoutMs;
    await sleep(delayMs);
    for (;;) {
        if ((await attempt()) === "done") return;
        if (Date.now() + everyMs > end) throw new Error(`timeout while waiting for ${what}`);
        await sleep(everyMs);
    }
}

// ---------------------------------------------------------------------------------------------
// Go durations (healthcheck fields are strings in the schema and time.Duration in Docker).

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, "µs": 1e3, "μs": 1e3, ms: 1e6, s: 1e9, m: 6e10, h: 3.6e12 };

/** time.ParseDuration; undefined when invalid. */
function parseGoDuration(s: string): number | undefined {
    let rest = s;
    let sign = 1;
    if (rest[0] === "-" || rest[0] === "+") { sign = rest[0] === "-" ? -1 : 1; rest = rest.slice(1); }
    if (rest === "0") return 0;
    if (rest === "") return undefined;
    let total = 0;
    while (rest !== "") {
        const m = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/.exec(rest);
        if (!m || (m[1] === "" && (m[2] ?? "") === "")) return undefined;
        total += (Number(m[1] || "0") + (m[2] ? Number(`0.${m[2]}`) : 0)) * UNIT_NS[m[3]];
        rest = rest.slice(m[0].length);
    }
    return sign * Math.round(total);
}

/** time.Duration.String(): 60s -> "1m0s", 90s -> "1m30s", 500ms -> "500ms", 0 -> "0s". */
function formatGoDuration(ns: number): string {
    if (ns === 0) return "0s";
    const sign = ns < 0 ? "-" : "";
    let u = Math.abs(ns);
    const frac = (v: number, digits: number) => {
        const scale = 10 ** digits;
        const whole = Math.floor(v / scale);
        const rem = v - whole * scale;
        return rem === 0 ? `${whole}` : `${whole}.${String(rem).padStart(digits, "0").replace(/0+$/, "")}`;
    };
    if (u < 1e3) return `${sign}${u}ns`;
    if (u < 1e6) return `${sign}${frac(u, 3)}µs`;
    if (u < 1e9) return `${sign}${frac(u, 6)}ms`;
    const h = Math.floor(u / 3.6e12); u -= h * 3.6e12;
    const m = Math.floor(u / 6e10); u -= m * 6e10;
    const s = `${frac(u, 9)}s`;
    return sign + (h > 0 ? `${h}h${m}m${s}` : m > 0 ? `${m}m${s}` : s);
}

// ---------------------------------------------------------------------------------------------
// Schemas: just what the diff needs (ForceNew, Computed, defaults, sets, DiffSuppress).

interface Field {
    readonly forceNew?: boolean;
    /** Optional+Computed: an absent input keeps whatever the state holds. */
    readonly computed?: boolean;
    /** TypeSet: order does not matter. */
    readonly set?: boolean;
    /** Nested block: defaults and nested sets/computed fields. */
    readonly nested?: Record<string, Field>;
    readonly default?: Json;
    /** DiffSuppressFunc "treat an empty new value as no change" (user, working_dir). */
    readonly emptyNewIsNoop?: boolean;
}
type Schema = Record<string, Field>;

const labelsField: Field = { forceNew: true, set: true };

// kw: resource_docker_network.go (every argument is ForceNew).
const networkSchema: Schema = {
    name: { forceNew: true }, labels: labelsField, driver: { forceNew: true, computed: true },
    options: { forceNew: true, computed: true }, internal: { forceNew: true, computed: true },
    attachable: { forceNew: true }, ingress: { forceNew: true }, ipv6: { forceNew: true },
    ipamDriver: { forceNew: true, default: "default" }, ipamOptions: { forceNew: true },
};

// kw: resource_docker_volume.go (ForceNew everywhere; labels and driver_opts are not Computed).
const volumeSchema: Schema = {
    name: { forceNew: true, computed: true }, labels: labelsField,
    driver: { forceNew: true, computed: true }, driverOpts: { forceNew: true },
};

// kw: resource_docker_image.go (name, pull_triggers, triggers, platform ForceNew; keep_locally, force_remove update in place).
const remoteImageSchema: Schema = {
    name: { forceNew: true }, pullTriggers: { forceNew: true, set: true }, triggers: { forceNew: true },
    platform: { forceNew: true, default: "" }, keepLocally: {}, forceRemove: {},
};

// kw: resource_docker_container.go (schema). Fields not listed are not implemented by the stand-in.
const containerSchema: Schema = {
    name: { forceNew: true },
    image: { forceNew: true },
    envs: { forceNew: true, computed: true, set: true },
    command: { forceNew: true, computed: true },
    entrypoints: { forceNew: true, computed: true },
    user: { forceNew: true, emptyNewIsNoop: true },
    workingDir: { forceNew: true, emptyNewIsNoop: true },
    hostname: { forceNew: true, computed: true },
    volumes: { forceNew: true, set: true },
    networksAdvanced: { forceNew: true, set: true, nested: { aliases: { set: true } } },
    networkMode: { forceNew: true, default: "bridge" },
    ports: { forceNew: true, nested: { ip: { default: "0.0.0.0" }, protocol: { default: "tcp" }, external: { computed: true } } },
    labels: { forceNew: true, computed: true, set: true },
    privileged: { forceNew: true },
    ipcMode: { forceNew: true, computed: true },
    ulimits: { forceNew: true, set: true },
    logDriver: { forceNew: true, computed: true },
    logOpts: { forceNew: true },
    // kw: resource_docker_container.go healthcheck is Optional+Computed and NOT ForceNew (update stores it only).
    healthcheck: {
        computed: true,
        nested: {
            interval: { default: "0s" }, timeout: { default: "0s" }, startPeriod: { default: "0s" },
            startInterval: { default: "0s" }, retries: { default: 0 },
        },
    },
    // Updated in place (kw: resource_docker_container_funcs.go resourceDockerContainerUpdate).
    restart: { default: "no" }, maxRetryCount: {}, memory: {}, memoryReservation: { default: 0 }, memorySwap: {},
    cpuShares: {}, cpuSet: {},
    // Provider-side behaviour only: an update records them.
    mustRun: { default: true }, start: { default: true }, wait: { default: false }, waitTimeout: { default: 60 },
    destroyGraceSeconds: {}, removeVolumes: { default: true }, rm: { default: false },
};

const SCHEMAS: Record<string, Schema> = {
    "docker:index/network:Network": networkSchema,
    "docker:index/volume:Volume": volumeSchema,
    "docker:index/remoteImage:RemoteImage": remoteImageSchema,
    "docker:index/container:Container": containerSchema,
};

const typeOf = (urn: string): string => {
    const qualified = urn.split("::")[2] ?? "";
    return qualified.split("$").pop() ?? "";
};

function schemaFor(urn: string): Schema {
    const s = SCHEMAS[typeOf(urn)];
    if (!s) throw new Error(`docker stand-in: resource type ${typeOf(urn)} is not implemented`);
    return s;
}

/** Inputs with the schema's top-level defaults filled in, as the bridge's Check does. */
function withDefaults(schema: Schema, news: Props): Props {
    const out: Props = { ...news };
    for (const [k, f] of Object.entries(schema)) if (f.default !== undefined && (out[k] === undefined || out[k] === null)) out[k] = f.default;
    return out;
}

const isEmpty = (v: Json | undefined): boolean =>
    v === undefined || v === null || v === "" || v === false || v === 0 ||
    (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0);

/** A comparable form: nested defaults applied, zero values dropped (Terraform stores them as zero), sets sorted. */
function canon(v: Json | undefined, f: Field | undefined, prior?: Json): Json | undefined {
    if (v === undefined || v === null) return undefined;
    if (Array.isArray(v)) {
        const priorItems = Array.isArray(prior) ? prior : [];
        const items = v.map((x, i) => canon(x, f?.nested ? { nested: f.nested } : undefined, priorItems[i]) ?? null);
        return f?.set ? [...items].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))) : items;
    }
    if (isObject(v)) {
        const keys = new Set([...Object.keys(v), ...Object.keys(f?.nested ?? {})]);
        const out: { [k: string]: Json } = {};
        for (const k of [...keys].sort()) {
            const nf = f?.nested?.[k];
            let x: Json | undefined = v[k];
            if ((x === undefined || x === null) && nf?.computed && isObject(prior)) x = prior[k];
            if ((x === undefined || x === null) && nf?.default !== undefined) x = nf.default;
            const c = canon(x, nf);
            if (!isEmpty(c)) out[k] = c as Json;
        }
        return out;
    }
    return v;
}

/** For a list of nested blocks (ports), pair each new block with the prior block of the same key. */
function priorFor(o: Json | undefined, n: Json | undefined): Json | undefined {
    if (!Array.isArray(o) || !Array.isArray(n)) return o;
    return n.map((item) => (isObject(item) ? o.find((p) => isObject(p) && p.internal === item.internal) ?? null : null));
}

type Kind = provproto.PropertyDiff.Kind;
const K = provproto.PropertyDiff.Kind;

interface Detailed extends DiffResult { readonly detailed: Record<string, Kind>; readonly diffs: string[] }

/** Terraform-style plan of old state vs new inputs over the schema's fields. */
function computeDiff(schema: Schema, oldsRaw: Props, newsRaw: Props, deleteBeforeReplace: boolean, ignored: readonly string[] = []): Detailed {
    const olds = revealAll(oldsRaw);
    const news = withDefaults(schema, revealAll(newsRaw));
    const detailed: Record<string, Kind> = {};
    const replaces: string[] = [];
    for (const [k, f] of Object.entries(schema)) {
        // The bridge drops the planned changes under the resource's ignoreChanges paths from the
        // Terraform diff itself, old state against new inputs (pulumi-terraform-bridge
        // pkg/tfbridge/provider.go Diff, newIgnoreChanges in diff.go): top-level paths here.
        if (ignored.includes(k)) continue;
        const o = olds[k];
        const n = news[k];
        let kind: Kind | undefined;
        if (containsUnknown(n)) {
            kind = o === undefined ? K.ADD : K.UPDATE;
        } else if (n === undefined || n === null) {
            if (!f.computed && !f.emptyNewIsNoop && !isEmpty(canon(o, f))) kind = K.DELETE;
        } else if (f.emptyNewIsNoop && n === "") {
            kind = undefined;
        } else if (isObject(n) && f.nested && !isObject(o)) {
            kind = K.ADD;
        } else if (isObject(n) && f.nested && isObject(o)) {
            // A nested block (healthcheck): report the changed sub-fields, as the bridge's detailed diff does.
            const co = canon(o, f) as Record<string, Json>;
            const cn = canon(n, f, o) as Record<string, Json>;
            for (const sub of new Set([...Object.keys(co), ...Object.keys(cn)])) {
                if (JSON.stringify(co[sub]) === JSON.stringify(cn[sub])) continue;
                const subKind = co[sub] === undefined ? K.ADD : cn[sub] === undefined ? K.DELETE : K.UPDATE;
                detailed[`${k}.${sub}`] = f.forceNew ? toReplace(subKind) : subKind;
            }
            if (Object.keys(detailed).some((p) => p.startsWith(`${k}.`)) && f.forceNew) replaces.push(k);
            continue;
        } else {
            const co = canon(o, f);
            const cn = canon(n, f, priorFor(o, n));
            if (JSON.stringify(co ?? null) !== JSON.stringify(cn ?? null) && !(isEmpty(co) && isEmpty(cn))) kind = o === undefined || o === null ? K.ADD : K.UPDATE;
        }
        if (kind === undefined) continue;
        detailed[k] = f.forceNew ? toReplace(kind) : kind;
        if (f.forceNew) replaces.push(k);
    }
    const diffs = [...new Set(Object.keys(detailed).map((p) => p.split(".")[0]))];
    return { changes: diffs.length > 0, replaces, deleteBeforeReplace: deleteBeforeReplace && replaces.length > 0, detailed, diffs };
}

function toReplace(k: Kind): Kind {
    return k === K.ADD ? K.ADD_REPLACE : k === K.DELETE ? K.DELETE_REPLACE : k === K.UPDATE ? K.UPDATE_REPLACE : k;
}

// ---------------------------------------------------------------------------------------------
// Typed views of the inputs.

interface Label { label: string; value: string }
const str = (v: Json | undefined): string | undefined => (typeof v === "string" ? v : undefined);
const num = (v: Json | undefined): number | undefined => (typeof v === "number" ? v : undefined);
const bool = (v: Json | undefined, dflt: boolean): boolean => (typeof v === "boolean" ? v : dflt);
const strs = (v: Json | undefined): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
const objs = (v: Json | undefined): { [k: string]: Json }[] => (Array.isArray(v) ? v.filter(isObject) : []);
const labelList = (v: Json | undefined): Label[] => objs(v).map((l) => ({ label: String(l.label ?? ""), value: String(l.value ?? "") }));
const labelMap = (v: Json | undefined): Record<string, string> => Object.fromEntries(labelList(v).map((l) => [l.label, l.value]));
// kw: helpers.go mapToLabelSet (labels read back from Docker as a set of {label, value}).
const toLabelSet = (m: Record<string, string> | null | undefined): Json =>
    Object.entries(m ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([label, value]) => ({ label, value }));

// ---------------------------------------------------------------------------------------------
// Network. kw: resource_docker_network_funcs.go

interface NetworkInspect {
    Id: string; Name: string; Driver: string; Scope: string; Internal: boolean; Attachable: boolean; Ingress: boolean;
    EnableIPv6: boolean; Labels: Record<string, string> | null; Options: Record<string, string> | null;
    IPAM: { Driver: string; Options: Record<string, string> | null };
}

async function readNetwork(id: string, state: Props): Promise<Props | undefined> {
    const n = await inspect<NetworkInspect>("network", id);
    // kw: resource_docker_network_funcs.go resourceDockerNetworkReadRefreshFunc (not found -> removed from state).
    if (!n) return undefined;
    return {
        ...state, name: n.Name, labels: toLabelSet(n.Labels), driver: n.Driver, internal: n.Internal,
        attachable: n.Attachable, ingress: n.Ingress, ipv6: n.EnableIPv6, ipamDriver: n.IPAM.Driver,
        ipamOptions: n.IPAM.Options ?? {}, scope: n.Scope, options: n.Options ?? {},
    };
}

async function createNetwork(inputs: Props): Promise<CreateResult> {
    const args = ["network", "create"];
    const driver = str(inputs.driver);
    if (driver) args.push("--driver", driver);
    for (const [k, v] of Object.entries(labelMap(inputs.labels))) args.push("--label", `${k}=${v}`);
    if (bool(inputs.internal, false)) args.push("--internal");
    if (bool(inputs.attachable, false)) args.push("--attachable");
    if (bool(inputs.ipv6, false)) args.push("--ipv6");
    args.push("--ipam-driver", str(inputs.ipamDriver) || "default");
    args.push(String(inputs.name));
    const id = (await docker(args)).trim();
    const outs = await readNetwork(id, inputs);
    if (!outs) throw new Error(`network ${id} vanished after create`);
    return { id, outs };
}

async function deleteNetwork(id: string): Promise<void> {
    // kw: resource_docker_network_funcs.go resourceDockerNetworkRemoveRefreshFunc (retry while "has active endpoints", 30 s).
    await retryPending(async () => {
        if (!(await inspect<NetworkInspect>("network", id))) return "done";
        try {
            await docker(["network", "rm", id]);
            return "done";
        } catch (e) {
            if (e instanceof DockerError && /active endpoints/.test(e.message)) return "pending";
            throw e;
        }
    }, 0, 2000, 30000, `network ${id} to be removed`);
}

// ---------------------------------------------------------------------------------------------
// Volume. kw: resource_docker_volume.go

interface VolumeInspect { Name: string; Driver: string; Mountpoint: string; Labels: Record<string, string> | null; Options: Record<string, string> | null }

async function readVolume(id: string, state: Props): Promise<Props | undefined> {
    const v = await inspect<VolumeInspect>("volume", id);
    if (!v) return undefined; // kw: resource_docker_volume.go resourceDockerVolumeRead (not found -> removed from state)
    // kw: resource_docker_volume.go resourceDockerVolumeRead: labels, driver, driver_opts come from Docker, not the inputs.
    return { ...state, name: v.Name, labels: toLabelSet(v.Labels), driver: v.Driver, driverOpts: v.Options ?? {}, mountpoint: v.Mountpoint };
}

async function createVolume(inputs: Props): Promise<CreateResult> {
    const args = ["volume", "create"];
    const driver = str(inputs.driver);
    if (driver) args.push("--driver", driver);
    for (const [k, v] of Object.entries(labelMap(inputs.labels))) args.push("--label", `${k}=${v}`);
    for (const [k, v] of Object.entries(isObject(inputs.driverOpts) ? inputs.driverOpts : {})) args.push("--opt", `${k}=${String(v)}`);
    const name = str(inputs.name);
    if (name) args.push(name);
    // Docker returns the existing volume for an existing name; the read-back then shows its real labels
    // (kw: resource_docker_volume.go resourceDockerVolumeCreate ends with resourceDockerVolumeRead).
    const id = (await docker(args)).trim();
    const outs = await readVolume(id, inputs);
    if (!outs) throw new Error(`volume ${id} vanished after create`);
    return { id, outs };
}

async function deleteVolume(id: string): Promise<void> {
    // kw: resource_docker_volume.go resourceDockerVolumeRemoveRefreshFunc (force remove, retry while in use, 30 s).
    await retryPending(async () => {
        try {
            await docker(["volume", "rm", "-f", id]);
            return "done";
        } catch (e) {
            if (e instanceof DockerError && /volume is in use/.test(e.message)) return "pending";
            throw e;
        }
    }, 0, 2000, 30000, `volume ${id} to be removed`);
}

// ---------------------------------------------------------------------------------------------
// RemoteImage. kw: resource_docker_image_funcs.go

interface ImageInspect { Id: string; RepoDigests: string[] | null }

/** kw: data_source_docker_image.go determineRepoDigest. */
function repoDigest(name: string, digests: string[]): string {
    if (digests.length === 0) return "";
    if (digests.length === 1) return digests[0];
    const colon = name.indexOf(":");
    const bare = colon === -1 ? name : name.slice(0, colon);
    return digests.find((d) => d.startsWith(bare)) ?? "";
}

/** kw: resource_docker_image_funcs.go findImage (local image first, else pull). */
async function findImage(name: string): Promise<ImageInspect> {
    if (!name) throw new Error("empty image name is not allowed");
    const local = await inspect<ImageInspect>("image", name);
    if (local) return local;
    try {
        await docker(["pull", name]);
    } catch (e) {
        throw new Error(`unable to pull image ${name}: ${(e as Error).message}`);
    }
    const pulled = await inspect<ImageInspect>("image", name);
    if (!pulled) throw new Error(`unable to find or pull image ${name}`);
    return pulled;
}

function imageOutputs(inputs: Props, img: ImageInspect): CreateResult {
    const name = String(inputs.name);
    // kw: resource_docker_image_funcs.go resourceDockerImageRead: id = image id + name.
    return { id: img.Id + name, outs: { ...inputs, name, imageId: img.Id, repoDigest: repoDigest(name, img.RepoDigests ?? []) } };
}

async function createImage(inputs: Props): Promise<CreateResult> {
    try {
        return imageOutputs(inputs, await findImage(String(inputs.name)));
    } catch (e) {
        throw new Error(`Unable to read Docker image into resource: ${(e as Error).message}`);
    }
}

async function deleteImage(props: Props): Promise<void> {
    // kw: resource_docker_image_funcs.go removeImage (nothing when keep_locally; only a still-present image).
    if (bool(props.keepLocally, false)) return;
    const name = String(props.name ?? "");
    if (!name) throw new Error("empty image name is not allowed");
    if (!(await inspect<ImageInspect>("image", name))) return;
    await docker(["rmi", ...(bool(props.forceRemove, false) ? ["--force"] : []), name]);
}

// ---------------------------------------------------------------------------------------------
// Container. kw: resource_docker_container_funcs.go

interface ContainerInspect {
    Id: string; Name: string; Image: string;
    State: { Running: boolean; ExitCode: number; Health?: { Status: string } | null };
    Config: {
        Image: string; Hostname: string; Labels?: Record<string, string> | null; Cmd: string[] | null; Entrypoint: string[] | null; User: string; WorkingDir: string;
        Healthcheck?: { Test?: string[] | null; Interval?: number; Timeout?: number; StartPeriod?: number; StartInterval?: number; Retries?: number } | null;
    };
    HostConfig: {
        RestartPolicy: { Name: string; MaximumRetryCount: number }; Privileged: boolean; IpcMode: string; NetworkMode: string;
        LogConfig: { Type: string }; Ulimits: { Name: string; Soft: number; Hard: number }[] | null;
        Memory: number; MemoryReservation: number; MemorySwap: number; CpuShares: number; CpusetCpus: string;
    };
    NetworkSettings: { Ports: Record<string, { HostIp: string; HostPort: string }[] | null> | null };
}

class InitFailed extends Error {
    constructor(message: string, public readonly id: string, public readonly properties: Props, public readonly reasons: string[]) {
        super(message);
    }
}

const durationNs = (v: Json | undefined): number => parseGoDuration(str(v) ?? "0s") ?? 0;

/** The Engine API create body. kw: resource_docker_container_funcs.go resourceDockerContainerCreate. */
function containerCreateBody(p: Props): unknown {
    const config: Record<string, unknown> = { Image: p.image };
    const envs = strs(p.envs);
    if (envs.length) config.Env = envs;
    const cmd = strs(p.command);
    if (cmd.length) {
        if (cmd.some((c) => c === "")) throw new Error("values for command may not be empty");
        config.Cmd = cmd;
    }
    const entrypoint = strs(p.entrypoints);
    if (entrypoint.length) config.Entrypoint = entrypoint;
    if (str(p.user)) config.User = p.user;
    if (str(p.workingDir)) config.WorkingDir = p.workingDir;
    if (str(p.hostname)) config.Hostname = p.hostname;
    const labels = labelMap(p.labels);
    if (Object.keys(labels).length) config.Labels = labels;

    const exposed: Record<string, object> = {};
    const bindings: Record<string, { HostIp?: string; HostPort?: string }[]> = {};
    for (const port of objs(p.ports)) {
        const key = `${num(port.internal)}/${str(port.protocol) || "tcp"}`;
        exposed[key] = {};
        const external = num(port.external);
        (bindings[key] ??= []).push({ HostIp: str(port.ip) ?? "0.0.0.0", HostPort: external ? String(external) : "" });
    }
    if (Object.keys(exposed).length) config.ExposedPorts = exposed;

    const hc = isObject(p.healthcheck) ? p.healthcheck : undefined;
    if (hc) {
        config.Healthcheck = {
            Test: Array.isArray(hc.tests) ? strs(hc.tests) : undefined,
            Interval: durationNs(hc.interval), Timeout: durationNs(hc.timeout), StartPeriod: durationNs(hc.startPeriod),
            StartInterval: durationNs(hc.startInterval), Retries: num(hc.retries) ?? 0,
        };
    }

    // kw: resource_docker_container_structures.go volumeSetToDockerVolumes ("source:target:ro|rw" binds).
    const binds: string[] = [];
    const anonymous: Record<string, object> = {};
    for (const v of objs(p.volumes)) {
        const target = str(v.containerPath);
        const source = str(v.hostPath) || str(v.volumeName);
        if (!target && !str(v.fromContainer)) throw new Error("Unable to parse volumes: volume entry without container path or source container");
        if (!target) continue;
        anonymous[target] = {};
        if (source) binds.push(`${source}:${target}:${bool(v.readOnly, false) ? "ro" : "rw"}`);
    }
    if (Object.keys(anonymous).length) config.Volumes = anonymous;
    const volumesFrom = objs(p.volumes).map((v) => str(v.fromContainer)).filter((x): x is string => !!x);

    const mb = (v: Json | undefined) => (num(v) ?? 0) * 1024 * 1024;
    const swap = num(p.memorySwap) ?? 0;
    const host: Record<string, unknown> = {
        Privileged: bool(p.privileged, false),
        RestartPolicy: { Name: str(p.restart) ?? "no", MaximumRetryCount: num(p.maxRetryCount) ?? 0 },
        AutoRemove: bool(p.rm, false),
        LogConfig: { Type: str(p.logDriver) ?? "", ...(isObject(p.logOpts) ? { Config: p.logOpts } : {}) },
        NetworkMode: str(p.networkMode) ?? "bridge",
        Init: false,
        ...(Object.keys(bindings).length ? { PortBindings: bindings } : {}),
        ...(binds.length ? { Binds: binds } : {}),
        ...(volumesFrom.length ? { VolumesFrom: volumesFrom } : {}),
        ...(str(p.ipcMode) ? { IpcMode: p.ipcMode } : {}),
        ...(num(p.memory) ? { Memory: mb(p.memory) } : {}),
        ...(num(p.memoryReservation) ? { MemoryReservation: mb(p.memoryReservation) } : {}),
        ...(swap ? { MemorySwap: swap > 0 ? swap * 1024 * 1024 : swap } : {}),
        ...(num(p.cpuShares) ? { CpuShares: p.cpuShares } : {}),
        ...(str(p.cpuSet) ? { CpusetCpus: p.cpuSet } : {}),
    };
    const asked = objs(p.ulimits).map((u) => ({ Name: str(u.name), Soft: num(u.soft) ?? 0, Hard: num(u.hard) ?? 0 }));
    const ulimits = asked.map(capUlimit);
    if (ulimits.length) host.Ulimits = ulimits;
    // NOT the real provider: a capped ulimit is read back as asked (from this label), so only the
    // sandbox's own limit differs from a real run (README, "Ulimit caps").
    if (ulimits.some((u, i) => u !== asked[i])) config.Labels = { ...(config.Labels as object), [ASKED_ULIMITS]: JSON.stringify(asked) };
    return { ...config, HostConfig: host };
}

const ASKED_ULIMITS = "upshift.standin.asked-ulimits";
/**
 * UPSHIFT_STANDIN_ULIMIT_CAPS="memlock=8388608,nofile=20000": the most each named ulimit may be.
 * This sandbox's Docker has no CAP_SYS_RESOURCE and refuses limits above its own ("error setting
 * rlimit type 8: operation not permitted"): `memlock: -1` (ClearML's Elasticsearch, KWDB) and
 * Elasticsearch's nofile 65536. Unset (the default), nothing is capped.
 */
function capUlimit(u: { Name?: string; Soft: number; Hard: number }): { Name?: string; Soft: number; Hard: number } {
    const caps = Object.fromEntries((process.env.UPSHIFT_STANDIN_ULIMIT_CAPS ?? "").split(",").filter(Boolean).map((c) => c.split("=")).map(([k, v]) => [k, Number(v)]));
    const cap = u.Name ? caps[u.Name] : undefined;
    if (cap === undefined) return u;
    const limit = (x: number) => (x < 0 || x > cap ? cap : x);
    return limit(u.Soft) === u.Soft && limit(u.Hard) === u.Hard ? u : { ...u, Soft: limit(u.Soft), Hard: limit(u.Hard) };
}

/** The state after a read. kw: resource_docker_container_funcs.go resourceDockerContainerRead. */
function flattenContainer(c: ContainerInspect, state: Props): Props {
    const out: Props = { ...state };
    const mustRun = bool(state.mustRun, true);
    if (c.NetworkSettings?.Ports && (c.State.Running || mustRun) && objs(state.ports).length) {
        // kw: resource_docker_container_structures.go flattenContainerPorts (sorted by port/protocol).
        const ports: Json[] = [];
        const keys = Object.keys(c.NetworkSettings.Ports).sort((a, b) => parseInt(a, 10) - parseInt(b, 10) || a.localeCompare(b));
        for (const key of keys) {
            const [internal, protocol] = key.split("/");
            for (const b of c.NetworkSettings.Ports[key] ?? []) {
                ports.push({ internal: Number(internal), external: Number(b.HostPort) || 0, ip: b.HostIp, protocol });
            }
        }
        out.ports = ports;
    }
    // kw: resource_docker_container_funcs.go resourceDockerContainerRead: a stopped container with must_run=true
    // is recorded as must_run=false, so the next plan shows a change and Update starts it again.
    if (!c.State.Running) {
        out.exitCode = c.State.ExitCode;
        if (mustRun) out.mustRun = false;
    }
    out.name = c.Name.replace(/^\/+/, "");
    // kw: resource_docker_container_funcs.go: an image given as "sha256:..." is read back as the container's image id.
    out.image = String(state.image ?? "").startsWith("sha256:") ? c.Image : c.Config.Image;
    out.hostname = c.Config.Hostname;
    out.command = c.Config.Cmd ?? [];
    out.entrypoints = c.Config.Entrypoint ?? [];
    out.user = c.Config.User;
    out.restart = c.HostConfig.RestartPolicy.Name;
    out.maxRetryCount = c.HostConfig.RestartPolicy.MaximumRetryCount;
    out.workingDir = c.Config.WorkingDir;
    out.privileged = c.HostConfig.Privileged;
    if (objs(state.ulimits).length) {
        const asked = c.Config.Labels?.[ASKED_ULIMITS];
        const read = asked ? (JSON.parse(asked) as { Name: string; Soft: number; Hard: number }[]) : (c.HostConfig.Ulimits ?? []);
        out.ulimits = read.map((u) => ({ name: u.Name, soft: u.Soft, hard: u.Hard }));
    }
    out.memory = Math.floor(c.HostConfig.Memory / 1024 / 1024);
    out.memoryReservation = c.HostConfig.MemoryReservation > 0 ? Math.floor(c.HostConfig.MemoryReservation / 1024 / 1024) : c.HostConfig.MemoryReservation;
    out.memorySwap = c.HostConfig.MemorySwap > 0 ? Math.floor(c.HostConfig.MemorySwap / 1024 / 1024) : c.HostConfig.MemorySwap;
    out.cpuShares = c.HostConfig.CpuShares;
    out.cpuSet = c.HostConfig.CpusetCpus;
    out.logDriver = c.HostConfig.LogConfig.Type;
    out.networkMode = c.HostConfig.NetworkMode;
    out.ipcMode = c.HostConfig.IpcMode;
    const hc = c.Config.Healthcheck;
    if (hc) {
        // kw: resource_docker_container_funcs.go: durations read back with time.Duration.String() ("60s" -> "1m0s").
        out.healthcheck = {
            tests: hc.Test ?? [], interval: formatGoDuration(hc.Interval ?? 0), timeout: formatGoDuration(hc.Timeout ?? 0),
            startPeriod: formatGoDuration(hc.StartPeriod ?? 0), startInterval: formatGoDuration(hc.StartInterval ?? 0),
            retries: hc.Retries ?? 0,
        };
    }
    // envs, labels, volumes and networks_advanced are not read back
    // (kw: resource_docker_container_funcs.go "We decided not to set the environment variables and labels").
    return out;
}

async function waitHealthy(id: string, timeoutSeconds: number): Promise<void> {
    // kw: resource_docker_container_funcs.go: poll every second until "healthy"; fail only at wait_timeout
    // (an "unhealthy" status is polled on, not an early failure).
    const end = Date.now() + timeoutSeconds * 1000;
    for (;;) {
        const c = await inspect<ContainerInspect>("container", id);
        if (!c) throw new Error(`error inspecting container state: no such container ${id}`);
        if (!c.State.Health) {
            throw new Error("you have supplied a 'wait' argument, but the container does not have a healthcheck defined. Please remove the 'wait' argument or add a 'healthcheck' attribute");
        }
        if (c.State.Health.Status === "healthy") return;
        if (Date.now() + 1000 > end) throw new Error("container failed to be in healthy state");
        await sleep(1000);
    }
}

async function createContainer(raw: Props): Promise<CreateResult> {
    const p = revealAll(raw);
    const image = String(p.image ?? "");
    try {
        await findImage(image);
    } catch (e) {
        throw new Error(`Unable to create container with image ${image}: ${(e as Error).message}`);
    }
    const res = await engineApi("POST", `/containers/create?name=${encodeURIComponent(String(p.name))}`, containerCreateBody(p));
    if (res.status !== 201) {
        const msg = isObject(res.json as Json) ? String((res.json as { message?: string }).message) : String(res.json);
        throw new Error(`Unable to create container: ${msg}`);
    }
    const id = (res.json as { Id: string }).Id;
    // From here on the container exists: a failure is a partial create (the bridge keeps the
    // Terraform state set so far: the inputs and the id) rather than a clean error.
    const partial = (e: unknown): never => {
        const message = (e as Error).message;
        throw new InitFailed(message, id, resecret({ ...p, id }, raw), [message]);
    };
    const networks = objs(p.networksAdvanced);
    try {
        if (networks.length) {
            // kw: resource_docker_container_funcs.go: leave the default bridge, then connect each network with its aliases.
            try {
                await docker(["network", "disconnect", "bridge", id]);
            } catch (e) {
                if (!/is not connected to the network bridge|not connected/.test((e as Error).message)) throw new Error(`Unable to disconnect the default network: ${(e as Error).message}`);
            }
            for (const n of networks) {
                const args = ["network", "connect"];
                for (const a of strs(n.aliases)) args.push("--alias", a);
                if (str(n.ipv4Address)) args.push("--ip", String(n.ipv4Address));
                if (str(n.ipv6Address)) args.push("--ip6", String(n.ipv6Address));
                args.push(String(n.name), id);
                try {
                    await docker(args);
                } catch (e) {
                    throw new Error(`Unable to connect to network '${String(n.name)}': ${(e as Error).message}`);
                }
            }
        }
        if (bool(p.start, true)) {
            try {
                await docker(["start", id]);
            } catch (e) {
                throw new Error(`Unable to start container: ${(e as Error).message}`);
            }
            if (bool(p.wait, false)) await waitHealthy(id, num(p.waitTimeout) ?? 60);
        }
    } catch (e) {
        partial(e);
    }
    const c = await inspect<ContainerInspect>("container", id);
    if (!c) return partial(new Error(`container ${id} vanished after create`));
    return { id, outs: resecret({ ...flattenContainer(c, p), id }, raw) };
}

async function updateContainer(id: string, oldsRaw: Props, newsRaw: Props): Promise<UpdateResult> {
    const olds = revealAll(oldsRaw);
    const news = withDefaults(containerSchema, revealAll(newsRaw));
    // kw: resource_docker_container_funcs.go resourceDockerContainerUpdate: start the container only when
    // must_run goes false -> true (set so by a read of a stopped container) and start is true; nothing else starts it.
    if (olds.mustRun === false && bool(news.mustRun, true) && bool(news.start, true)) {
        try {
            await docker(["start", id]);
        } catch (e) {
            throw new Error(`Unable to start container: ${(e as Error).message}`);
        }
    }
    // kw: resource_docker_container_funcs.go resourceDockerContainerUpdate: restart policy and resources via ContainerUpdate.
    const inPlace = ["restart", "maxRetryCount", "cpuShares", "memory", "memoryReservation", "cpuSet", "memorySwap"];
    if (inPlace.some((k) => JSON.stringify(olds[k] ?? null) !== JSON.stringify(news[k] ?? null))) {
        const restart = str(news.restart) ?? "no";
        const args = ["update", "--restart", restart === "on-failure" && num(news.maxRetryCount) ? `on-failure:${num(news.maxRetryCount)}` : restart];
        args.push("--cpu-shares", String(num(news.cpuShares) ?? 0));
        if (num(news.memory)) args.push("--memory", `${num(news.memory)}m`);
        if (num(news.memoryReservation)) args.push("--memory-reservation", `${num(news.memoryReservation)}m`);
        const swap = num(news.memorySwap);
        if (swap) args.push("--memory-swap", swap > 0 ? `${swap}m` : String(swap));
        if (str(news.cpuSet)) args.push("--cpuset-cpus", String(news.cpuSet));
        try {
            await docker([...args, id]);
        } catch (e) {
            throw new Error(`Unable to update a container: ${(e as Error).message}`);
        }
    }
    // The Terraform state after Update is the plan: new inputs over the old computed values (no read).
    return { outs: resecret({ ...olds, ...news, mustRun: bool(news.mustRun, true), id }, newsRaw) };
}

async function readContainer(id: string, stateRaw: Props): Promise<ReadResult> {
    const state = revealAll(stateRaw);
    // kw: resource_docker_container_funcs.go resourceDockerContainerRead: a container that is gone is removed from state.
    const c = await inspect<ContainerInspect>("container", id);
    if (!c) return { id: "", props: {} };
    return { id: c.Id, props: resecret({ ...flattenContainer(c, state), id: c.Id }, stateRaw) };
}

async function deleteContainer(id: string, raw: Props): Promise<void> {
    const p = revealAll(raw);
    // kw: resource_docker_container_funcs.go resourceDockerContainerDelete: stop with destroy_grace_seconds as
    // the timeout (0 when unset: killed at once), then force-remove (anonymous volumes too when remove_volumes).
    if (!bool(p.attach, false)) {
        const grace = num(p.destroyGraceSeconds) ?? 0;
        try {
            await docker(["stop", "-t", String(grace > 0 ? grace : 0), id]);
        } catch (e) {
            if (!isNotFound(e)) throw new Error(`Error stopping container ${id}: ${(e as Error).message}`);
        }
    }
    try {
        await docker(["rm", "--force", ...(bool(p.removeVolumes, true) ? ["--volumes"] : []), id]);
    } catch (e) {
        if (!isNotFound(e) && !/is already in progress/.test((e as Error).message)) throw new Error(`Error deleting container ${id}: ${(e as Error).message}`);
    }
    try {
        await docker(["wait", id]);
    } catch (e) {
        if (!isNotFound(e)) throw new Error(`Error waiting for container removal '${id}': ${(e as Error).message}`);
    }
}

// ---------------------------------------------------------------------------------------------
// Check: defaults and the validations that matter here (kw: resource_docker_container.go ValidateDiagFunc).

function checkContainer(news: Props): CheckFailure[] {
    const failures: CheckFailure[] = [];
    const known = (v: Json | undefined) => v !== undefined && v !== null && !containsUnknown(v);
    for (const req of ["name", "image"]) if (news[req] === undefined || news[req] === null) failures.push({ property: req, reason: `Missing required property '${req}'` });
    const restart = reveal(news.restart ?? null);
    if (known(restart) && !/^(no|on-failure|always|unless-stopped)$/.test(String(restart))) {
        failures.push({ property: "restart", reason: `restart: must match ^(no|on-failure|always|unless-stopped)$, got ${String(restart)}` });
    }
    const hc = reveal(news.healthcheck ?? null);
    if (isObject(hc)) {
        for (const k of ["interval", "timeout", "startPeriod", "startInterval"]) {
            const v = hc[k];
            if (!known(v)) continue;
            const ns = parseGoDuration(String(v));
            if (ns === undefined || ns < 0) failures.push({ property: `healthcheck.${k}`, reason: `healthcheck.${k}: ${String(v)} is not a duration >= 0` });
        }
    }
    return failures;
}

// ---------------------------------------------------------------------------------------------
// The provider.

/** Detailed diffs by URN, handed from provider.diff to the gRPC response (see attachDetailedDiff). */
const detailedDiffs = new Map<string, Detailed>();
/** The DiffRequest's ignoreChanges by URN (the Node server does not pass them to provider.diff). */
const ignoredPaths = new Map<string, string[]>();

const provider: Provider = {
    version: "5.2.0",

    async check(urn: string, _olds: Props, news: Props): Promise<CheckResult> {
        const type = typeOf(urn);
        const schema = schemaFor(urn);
        const failures = type === "docker:index/container:Container" ? checkContainer(news) : [];
        if ((type === "docker:index/network:Network" || type === "docker:index/remoteImage:RemoteImage") && (news.name === undefined || news.name === null)) {
            failures.push({ property: "name", reason: "Missing required property 'name'" });
        }
        return { inputs: withDefaults(schema, news), failures };
    },

    async diff(_id: string, urn: string, olds: Props, news: Props): Promise<DiffResult> {
        // pulumi-docker provider/resources.go: docker_container is DeleteBeforeReplace.
        const result = computeDiff(schemaFor(urn), olds, news, typeOf(urn) === "docker:index/container:Container", ignoredPaths.get(urn));
        ignoredPaths.delete(urn);
        detailedDiffs.set(urn, result);
        return { changes: result.changes, replaces: result.replaces, deleteBeforeReplace: result.deleteBeforeReplace };
    },

    async create(urn: string, inputs: Props): Promise<CreateResult> {
        switch (typeOf(urn)) {
            case "docker:index/network:Network": return createNetwork(revealAll(inputs));
            case "docker:index/volume:Volume": return createVolume(revealAll(inputs));
            case "docker:index/remoteImage:RemoteImage": return createImage(revealAll(inputs));
            case "docker:index/container:Container": return createContainer(inputs);
            default: throw new Error(`docker stand-in: resource type ${typeOf(urn)} is not implemented`);
        }
    },

    async read(id: string, urn: string, props: Props): Promise<ReadResult> {
        const state = revealAll(props ?? {});
        switch (typeOf(urn)) {
            case "docker:index/network:Network": {
                const outs = await readNetwork(id, state);
                return outs ? { id, props: resecret(outs, props) } : { id: "", props: {} };
            }
            case "docker:index/volume:Volume": {
                const outs = await readVolume(id, state);
                return outs ? { id, props: resecret(outs, props) } : { id: "", props: {} };
            }
            case "docker:index/remoteImage:RemoteImage": {
                // kw: resource_docker_image_funcs.go resourceDockerImageRead: an image no longer present is removed from state.
                const img = await inspect<ImageInspect>("image", String(state.name ?? ""));
                if (!img) return { id: "", props: {} };
                const r = imageOutputs(state, img);
                return { id: r.id, props: resecret(r.outs as Props, props) };
            }
            case "docker:index/container:Container": return readContainer(id, props ?? {});
            default: throw new Error(`docker stand-in: resource type ${typeOf(urn)} is not implemented`);
        }
    },

    async update(id: string, urn: string, olds: Props, news: Props): Promise<UpdateResult> {
        switch (typeOf(urn)) {
            case "docker:index/container:Container": return updateContainer(id, olds, news);
            case "docker:index/remoteImage:RemoteImage": {
                // kw: resource_docker_image_funcs.go resourceDockerImageUpdate: find (or pull) the image again, then read.
                const inputs = revealAll(news);
                return { outs: resecret(imageOutputs(inputs, await findImage(String(inputs.name))).outs as Props, news) };
            }
            // Networks and volumes have only ForceNew inputs: an update just records the new inputs.
            default: return { outs: { ...olds, ...news } };
        }
    },

    async delete(id: string, urn: string, props: Props): Promise<void> {
        switch (typeOf(urn)) {
            case "docker:index/network:Network": return deleteNetwork(id);
            case "docker:index/volume:Volume": return deleteVolume(id);
            case "docker:index/remoteImage:RemoteImage": return deleteImage(revealAll(props));
            case "docker:index/container:Container": return deleteContainer(id, props);
            default: throw new Error(`docker stand-in: resource type ${typeOf(urn)} is not implemented`);
        }
    },
};

/**
 * The Node provider server (server.js) answers Diff with changes/replaces/deleteBeforeReplace only.
 * The real plugin (the Terraform bridge) also sends `diffs` and a detailed diff; the engine needs them
 * for `replaceOnChanges` (step_generator.go applyReplaceOnChanges reads DetailedDiff/ChangedKeys) and
 * for the per-property display. Wrap the server's diff handler to add them to its response.
 */
function attachDetailedDiff(): void {
    type Callback = (err: unknown, resp?: provproto.DiffResponse | null) => void;
    type DiffCall = { request: provproto.DiffRequest };
    type Impl = { diff?: (call: DiffCall, cb: Callback) => unknown };
    const proto = grpc.Server.prototype as unknown as { addService: (service: unknown, impl: Impl) => void };
    const addService = proto.addService;
    proto.addService = function (this: unknown, service: unknown, impl: Impl) {
        const diff = impl.diff?.bind(impl);
        if (diff) {
            impl.diff = (call, cb) => (ignoredPaths.set(call.request.getUrn(), call.request.getIgnorechangesList()), diff(call, (err, resp) => {
                const urn = call.request.getUrn();
                const d = detailedDiffs.get(urn);
                detailedDiffs.delete(urn);
                if (resp && d) {
                    resp.setDiffsList(d.diffs);
                    const map = resp.getDetaileddiffMap();
                    for (const [p, kind] of Object.entries(d.detailed)) {
                        const pd = new provproto.PropertyDiff();
                        pd.setKind(kind);
                        pd.setInputdiff(false);
                        map.set(p, pd);
                    }
                    resp.setHasdetaileddiff(true);
                }
                cb(err, resp);
            }));
        }
        return addService.call(this, service, impl);
    };
}

// Exported for unit use only; the plugin entry point is the block below.
export const internals = { parseGoDuration, formatGoDuration, computeDiff, containerSchema, volumeSchema };

if (require.main === module) {
    attachDetailedDiff();
    void main(provider, process.argv.slice(2));
}
