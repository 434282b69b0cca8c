// Helpers of the benchmarks (bench/run.ts, bench/downtime.ts): CVAT-like Postgres data, timed processes, peak memory of a process, statistics,
// a linear fit, and the machine's description. Nothing here is used by the program or the hooks.
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";

export interface Timed {
    readonly code: number;
    readonly seconds: number;
    readonly stdout: string;
    readonly stderr: string;
    /** Max RSS in bytes of the process tree as /usr/bin/time reports it (when measured). */
    readonly maxRssBytes?: number;
}

export interface RunOpts {
    readonly env?: Record<string, string>;
    /** Discard stdout (the vendor's `tar -v` listing would otherwise be buffered here). */
    readonly discardStdout?: boolean;
    /** Measure the peak RSS with /usr/bin/time -f %M (falls back to the child's rusage). */
    readonly measureMemory?: boolean;
    /** Append stderr to this file as well. */
    readonly logFile?: string;
    readonly check?: boolean;
}

const TIME = "/usr/bin/time";

/** Runs a command, timing it by the wall clock; fails on a non-zero exit unless check=false. */
export function timed(cmd: string, args: string[], opts: RunOpts = {}): Promise<Timed> {
    let file = cmd;
    let argv = args;
    let memFile: string | undefined;
    if (opts.measureMemory && fs.existsSync(TIME)) {
        memFile = `${os.tmpdir()}/upshift-bench-mem-${process.pid}-${Math.random().toString(36).slice(2)}`;
        file = TIME;
        argv = ["-f", "%M", "-o", memFile, cmd, ...args];
    }
    return new Promise((resolve, reject) => {
        const t0 = process.hrtime.bigint();
        const p = spawn(file, argv, {
            env: { ...process.env, ...opts.env },
            stdio: ["ignore", opts.discardStdout ? "ignore" : "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        p.stdout?.on("data", (b: Buffer) => {
            if (stdout.length < 1 << 20) stdout += b.toString();
        });
        p.stderr!.on("data", (b: Buffer) => {
            if (stderr.length < 1 << 20) stderr += b.toString();
            if (opts.logFile) fs.appendFileSync(opts.logFile, b);
        });
        // No /usr/bin/time: poll the child's VmHWM (its peak RSS so far, KB) while it runs.
        let hwm = 0;
        const poll =
            opts.measureMemory && !memFile
                ? setInterval(() => {
                      try {
                          const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${p.pid}/status`, "utf8"));
                          if (m) hwm = Math.max(hwm, Number(m[1]));
                      } catch {
                          /* ended */
                      }
                  }, 50)
                : undefined;
        p.on("error", reject);
        p.on("close", (code) => {
            if (poll) clearInterval(poll);
            const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
            let maxRssBytes: number | undefined;
            if (memFile) {
                const kb = Number(fs.readFileSync(memFile, "utf8").trim().split("\n").pop());
                fs.rmSync(memFile, { force: true });
                if (Number.isFinite(kb)) maxRssBytes = kb * 1024;
            } else if (opts.measureMemory) {
                maxRssBytes = hwm * 1024;
            }
            const r: Timed = { code: code ?? 1, seconds, stdout, stderr, maxRssBytes };
            if (r.code !== 0 && opts.check !== false) {
                reject(
                    new Error(
                        `${cmd} ${args.join(" ")} exited ${r.code}: ${stderr.trim().split("\n").slice(-8).join(" | ")}`,
                    ),
                );
            } else resolve(r);
        });
    });
}

/** A shell line (the vendor's procedures are shell lines), timed. */
export function sh(line: string, opts: RunOpts = {}): Promise<Timed> {
    return timed("bash", ["-o", "pipefail", "-c", line], opts);
}

/** Synchronous command for setup and cleanup; returns stdout. */
export function run(cmd: string, args: string[], opts: { check?: boolean; input?: string } = {}): string {
    const r = spawnSync(cmd, args, { encoding: "utf8", input: opts.input, maxBuffer: 64 << 20 });
    if (r.status !== 0 && opts.check !== false)
        throw new Error(
            `${cmd} ${args.join(" ")} exited ${r.status}: ${(r.stderr || "").trim().split("\n").slice(-8).join(" | ")}`,
        );
    return (r.stdout || "").trim();
}

export function median(xs: readonly number[]): number {
    if (!xs.length) return NaN;
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export interface Fit {
    readonly intercept: number;
    readonly slope: number;
    readonly r2: number;
    /** y - fitted, per point. */
    readonly residuals: number[];
}

/** Least-squares line y = intercept + slope * x. */
export function linearFit(xs: readonly number[], ys: readonly number[]): Fit {
    const n = xs.length;
    const mx = xs.reduce((a, b) => a + b, 0) / n;
    const my = ys.reduce((a, b) => a + b, 0) / n;
    let sxy = 0,
        sxx = 0,
        syy = 0;
    for (let i = 0; i < n; i++) {
        sxy += (xs[i] - mx) * (ys[i] - my);
        sxx += (xs[i] - mx) ** 2;
        syy += (ys[i] - my) ** 2;
    }
    const slope = sxx ? sxy / sxx : 0;
    const intercept = my - slope * mx;
    const residuals = xs.map((x, i) => ys[i] - (intercept + slope * x));
    const sse = residuals.reduce((a, r) => a + r * r, 0);
    return { intercept, slope, r2: syy ? 1 - sse / syy : 1, residuals };
}

export function mib(bytes: number): string {
    return `${(bytes / 1048576).toFixed(bytes < 10 * 1048576 ? 1 : 0)} MiB`;
}

export function secs(s: number): string {
    return `${s.toFixed(s < 10 ? 2 : 1)} s`;
}

export function loadavg(): string {
    return os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(" / ");
}

export interface Machine {
    cpuModel: string;
    cores: number;
    memoryGiB: number;
    disk: string;
    kernel: string;
    node: string;
    docker: string;
    ddWriteMBs?: number;
}

/** Cores, memory, the disk under `dir` (size, free, device) and a 1 GiB fdatasync write rate. */
export function machine(dir: string): Machine {
    const df = run("df", ["-h", "--output=source,size,avail", dir]).split("\n").pop()!.trim().split(/\s+/);
    const dev = (df[0] ?? "").replace(/^\/dev\//, "");
    let rota = "";
    try {
        rota =
            fs.readFileSync(`/sys/block/${dev}/queue/rotational`, "utf8").trim() === "1"
                ? ", reported rotational (virtual disk)"
                : ", non-rotational";
    } catch {
        /* no sysfs */
    }
    return {
        cpuModel: os.cpus()[0]?.model ?? "?",
        cores: os.cpus().length,
        memoryGiB: Math.round((os.totalmem() / 1073741824) * 10) / 10,
        disk: `${df[0]}: ${df[1]} total, ${df[2]} free${rota}`,
        kernel: `${os.type()} ${os.release()}`,
        node: process.version,
        docker: run("docker", ["version", "--format", "{{.Server.Version}}"], { check: false }) || "?",
    };
}

/** Sequential write rate of the disk under `dir`: 1 GiB with fdatasync (dd), in MB/s. */
export function ddWrite(dir: string, mb: number): number | undefined {
    const f = `${dir}/dd-probe.bin`;
    const r = spawnSync("dd", ["if=/dev/zero", `of=${f}`, "bs=1M", `count=${mb}`, "conv=fdatasync"], {
        encoding: "utf8",
    });
    fs.rmSync(f, { force: true });
    const m = /copied, ([\d.]+) s/.exec(r.stderr || "");
    return m ? Math.round((mb * 1048576) / Number(m[1]) / 1e6) : undefined;
}

/** SQL that makes a CVAT-like database of about `mb` MiB: three annotation tables, 7 indexes (two sessions load a and b in parallel). */
export function seedSql(mb: number): { a: string; b: string; post: string } {
    // ~255 bytes of heap and index per shape row (half an attribute row included); calibrated.
    const shapes = Math.max(1000, Math.round((mb * 1048576) / 255));
    const jobs = Math.max(10, Math.round(shapes / 1000));
    const a = `SET synchronous_commit = off;
CREATE TABLE engine_job (id serial PRIMARY KEY, segment_id int NOT NULL, assignee text, status text NOT NULL, stage text NOT NULL,
  state text NOT NULL, meta jsonb, updated_date timestamptz NOT NULL);
INSERT INTO engine_job (segment_id, assignee, status, stage, state, meta, updated_date)
SELECT i, 'user' || (i % 37), (ARRAY['annotation','validation','completed'])[1 + i % 3], 'annotation', 'in progress',
  jsonb_build_object('frames', i % 500, 'labels', jsonb_build_array('car', 'person', i % 7), 'note', md5(i::text)),
  '2024-01-01'::timestamptz + i * interval '1 minute'
FROM generate_series(1, ${jobs}) i;
CREATE TABLE engine_labeledshape (id bigserial PRIMARY KEY, job_id int NOT NULL, frame int NOT NULL, label_id int NOT NULL, group_id int,
  source text NOT NULL, type text NOT NULL, occluded bool NOT NULL, outside bool NOT NULL, z_order int NOT NULL, points float8[] NOT NULL,
  rotation float8 NOT NULL, parent_id bigint);
INSERT INTO engine_labeledshape (job_id, frame, label_id, group_id, source, type, occluded, outside, z_order, points, rotation)
SELECT 1 + i % ${jobs}, i % 5000, 1 + i % 40, CASE WHEN i % 5 = 0 THEN i % 100 END, (ARRAY['manual','auto','semi-auto'])[1 + i % 3],
  (ARRAY['rectangle','polygon','points','ellipse'])[1 + i % 4], i % 7 = 0, false, i % 3,
  ARRAY[round((random() * 1920)::numeric, 2)::float8, round((random() * 1080)::numeric, 2)::float8,
        round((random() * 1920)::numeric, 2)::float8, round((random() * 1080)::numeric, 2)::float8],
  CASE WHEN i % 10 = 0 THEN (i % 360)::float8 ELSE 0 END
FROM generate_series(1, ${shapes}) i;`;
    const b = `SET synchronous_commit = off;
CREATE TABLE engine_labeledshapeattributeval (id bigserial PRIMARY KEY, shape_id bigint NOT NULL, spec_id int NOT NULL, value text NOT NULL);
INSERT INTO engine_labeledshapeattributeval (shape_id, spec_id, value)
SELECT 1 + (i * 2) % ${shapes}, 1 + i % 12, (ARRAY['true','false','red','green','blue','occluded'])[1 + i % 6] || '-' || (i % 1000)
FROM generate_series(1, ${Math.round(shapes / 2)}) i;`;
    const post = `SET maintenance_work_mem = '512MB';
CREATE INDEX engine_labeledshape_job_frame ON engine_labeledshape (job_id, frame);
CREATE INDEX engine_labeledshape_label ON engine_labeledshape (label_id);
CREATE INDEX engine_labeledshapeattributeval_shape ON engine_labeledshapeattributeval (shape_id);
CREATE INDEX engine_job_status ON engine_job (status, updated_date);
ALTER TABLE engine_labeledshapeattributeval ADD CONSTRAINT shape_fk FOREIGN KEY (shape_id) REFERENCES engine_labeledshape (id);
ALTER TABLE engine_labeledshape ADD CONSTRAINT job_fk FOREIGN KEY (job_id) REFERENCES engine_job (id);
VACUUM ANALYZE;
CHECKPOINT;`;
    return { a, b, post };
}
