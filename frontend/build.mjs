// Copies the browser libraries rathaus serves from node_modules into dist/.
// Django picks dist/ up as the "vendor/" static prefix (settings.FRONTEND_DIST).
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
const files = {
  "htmx.min.js": "node_modules/htmx.org/dist/htmx.min.js",
};

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
for (const [target, source] of Object.entries(files)) {
  copyFileSync(join(here, source), join(dist, target));
  console.log(`frontend: ${source} -> dist/${target}`);
}
