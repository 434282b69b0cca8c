// upshift: the Pulumi program. Everything happens in program.ts; the stack exports `deployed`.
import { program } from "./program";

export = program();
