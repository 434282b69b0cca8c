// Root hooks of the integration suite: start a Docker engine (our own dockerd unless one answers)
// and build the local test images once. If Docker cannot be started the suite FAILS: it never
// skips (an integration test that silently skips is a defect).
import { execFileSync } from "child_process";
import * as path from "path";
import "../build-hooks";

const ci = path.join(__dirname, "..", "..", ".ci");

export const TEST_IMAGES = {
    tools: "upshift-test/tools:latest",
    pg15: "upshift-test/postgres:15",
    pg17: "upshift-test/postgres:17",
    /** pg_upgrade helper: Postgres 15 and 17 binaries in one root (.ci/build-upgrade-image.sh). */
    pgUpgrade: "upshift-test/pg-upgrade:15-to-17",
};

export const mochaHooks = {
    beforeAll(this: Mocha.Context) {
        this.timeout(30 * 60 * 1000);
        let host: string;
        try {
            host = execFileSync("bash", [path.join(ci, "docker-up.sh")], {
                encoding: "utf8",
                stdio: ["ignore", "pipe", "inherit"],
            }).trim();
        } catch (e) {
            throw new Error(
                `Docker engine could not be started for the integration tests (.ci/docker-up.sh failed): ${(e as Error).message}`,
            );
        }
        process.env.DOCKER_HOST = host;
        execFileSync("bash", [path.join(ci, "build-images.sh")], {
            stdio: ["ignore", "inherit", "inherit"],
            env: process.env,
        });
        process.env.UPSHIFT_HELPER_IMAGE = TEST_IMAGES.tools;
    },
};
