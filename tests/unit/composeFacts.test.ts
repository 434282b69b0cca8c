// The maintainer's tool's reading of compose files (tools/compose-facts), on small made-up files.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { composeFacts, interpolate, packFacts, shellWords, unpackFacts } from "../../tools/compose-facts/facts";

const FILE = `
name: cvat
x-env: &env
  HOST: cvat_db
  PORT: 6666
  OPTS: \${OPTS:-}
services:
  cvat_server:
    container_name: cvat_server
    image: cvat/server:\${CVAT_VERSION:-v2.73.0}
    environment:
      <<: *env
      EXTRA: "a b"
    command: init run server nginx
    labels:
      traefik.http.routers.cvat.rule: Host(\`\${CVAT_HOST:-localhost}\`)
    volumes:
      - cvat_data:/home/django/data
      - /var/run/docker.sock:/var/run/docker.sock:ro
      - type: tmpfs
        target: /tmp/x
    networks:
      cvat:
        aliases: [cvat-server]
  mongo:
    container_name: clearml-mongo
    image: mongo:4.4.9
    command: ["--setParameter", "x=$$y"]
    volumes:
      - /usr/share/elasticsearch/logs
`;

describe("compose-facts: a vendor's compose file as comparable facts", () => {
    it("resolves merge keys, ${VAR:-default} with VAR unset, string commands as words, compose's volume names and aliases", () => {
        const f = composeFacts(FILE, "ignored-when-named");
        assert.strictEqual(f.project, "cvat");
        const s = f.services.cvat_server;
        assert.strictEqual(s.image, "cvat/server:v2.73.0");
        assert.deepStrictEqual(s.env, { EXTRA: "a b", HOST: "cvat_db", OPTS: "", PORT: "6666" });
        assert.deepStrictEqual(s.command, ["init", "run", "server", "nginx"]);
        assert.deepStrictEqual(s.labels, { "traefik.http.routers.cvat.rule": "Host(`localhost`)" });
        assert.deepStrictEqual(s.mounts, [
            "cvat_cvat_data:/home/django/data",
            "/var/run/docker.sock:/var/run/docker.sock:ro",
            "tmpfs:/tmp/x",
        ]);
        assert.deepStrictEqual(s.aliases, ["cvat-server"]);
        const m = f.services["clearml-mongo"];
        assert.deepStrictEqual(m.aliases, ["mongo"], "reachable by its service name");
        assert.deepStrictEqual(m.command, ["--setParameter", "x=$y"]);
        assert.deepStrictEqual(m.mounts, ["anonymous:/usr/share/elasticsearch/logs"]);
    });

    it("shell words and interpolation as compose does them", () => {
        assert.deepStrictEqual(shellWords(`a "b c" 'd' ""`), ["a", "b c", "d", ""]);
        assert.throws(() => shellWords(`a "b`), /unterminated quote/);
        assert.strictEqual(interpolate("${A:-${B:-x}}-${C}-$D-$$"), "x---$");
    });

    it("the fixture form keeps each distinct container once and gives every release back exactly", () => {
        const a = composeFacts(FILE, "x"),
            b = composeFacts(FILE.replace(/v2\.73\.0/g, "v2.74.0"), "x");
        const packed = packFacts({ "2.73.0": a, "2.74.0": b });
        assert.strictEqual(
            Object.keys(packed.facts).length,
            2,
            "the same containers but for the release's own version",
        );
        assert.deepStrictEqual(unpackFacts(packed, "2.74.0"), b.services);
        assert.deepStrictEqual(unpackFacts(packed, "2.73.0"), a.services);
    });

    it("`check` exits 0 when the catalog agrees with a vendor file and 1, naming the difference, when it does not", () => {
        const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "upstream", "cvat.json"), "utf8"));
        // A compose file written back from the 2.40.0 facts is enough for the tool (it reads facts, not formatting).
        const services = unpackFacts(fixture, "2.40.0");
        const yaml = (over: (s: typeof services) => void) => {
            const copy = JSON.parse(JSON.stringify(services)) as typeof services;
            over(copy);
            return JSON.stringify({
                name: "cvat",
                services: Object.fromEntries(
                    Object.entries(copy).map(([n, s]) => [
                        n,
                        {
                            container_name: n,
                            image: s.image,
                            command: s.command,
                            entrypoint: s.entrypoint,
                            environment: s.env,
                            labels: s.labels,
                            ports: s.ports,
                            volumes: s.mounts.map((m) =>
                                m.replace(/^cvat_(cvat_[a-z_]+):/, "$1:").replace(/^tmpfs:(.*)$/, "/x:$1"),
                            ),
                            ...(s.init ? { init: true } : {}),
                            ...(s.user ? { user: s.user } : {}),
                            networks: { cvat: { aliases: s.aliases } },
                        },
                    ]),
                ),
            });
        };
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "compose-facts-"));
        const run = (text: string) => {
            fs.writeFileSync(path.join(dir, "2.40.0.yml"), text);
            try {
                return {
                    code: 0,
                    out: execFileSync(
                        "npx",
                        [
                            "ts-node",
                            "--transpile-only",
                            path.join(__dirname, "..", "..", "tools", "compose-facts", "index.ts"),
                            "check",
                            "cvat",
                            path.join(dir, "2.40.0.yml"),
                            "2.40.0",
                        ],
                        { encoding: "utf8" },
                    ),
                };
            } catch (e) {
                const x = e as { status: number; stdout: string };
                return { code: x.status, out: x.stdout };
            }
        };
        try {
            const good = run(yaml(() => undefined));
            assert.strictEqual(good.code, 0, good.out);
            assert.match(good.out, /cvat 2\.40\.0: 0 differences/);
            const bad = run(
                yaml((s) => {
                    (s.cvat_opa as unknown as { aliases: string[] }).aliases = [];
                }),
            );
            assert.strictEqual(bad.code, 1);
            assert.match(bad.out, /^cvat_opa: aliases: vendor \[\], upshift \["opa"\]$/m);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
