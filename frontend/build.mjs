// Copies the browser libraries rathaus serves from node_modules into dist/.
// Django picks dist/ up as the "vendor/" static prefix (settings.FRONTEND_DIST).
import { copyFileSync, cpSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
const files = {
  "htmx.min.js": "node_modules/htmx.org/dist/htmx.min.js",
  // Process diagrams (ADR 0014): the bundles include the bpmn.io watermark they must show.
  "bpmn-js/bpmn-modeler.production.min.js": "node_modules/bpmn-js/dist/bpmn-modeler.production.min.js",
  "bpmn-js/bpmn-navigated-viewer.production.min.js":
    "node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js",
  "dmn-js/dmn-modeler.production.min.js": "node_modules/dmn-js/dist/dmn-modeler.production.min.js",
  // Maps of parking sites and charging points; tiles come from a configured source.
  "leaflet/leaflet.js": "node_modules/leaflet/dist/leaflet.js",
  // leaflet.js names its source map; the manifest storage of collectstatic needs it there.
  "leaflet/leaflet.js.map": "node_modules/leaflet/dist/leaflet.js.map",
  "leaflet/leaflet.css": "node_modules/leaflet/dist/leaflet.css",
};
// Stylesheets with the fonts they refer to, copied as whole folders.
const folders = {
  "bpmn-js/assets": "node_modules/bpmn-js/dist/assets",
  "dmn-js/assets": "node_modules/dmn-js/dist/assets",
  "leaflet/images": "node_modules/leaflet/dist/images",
};

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
for (const [target, source] of Object.entries(files)) {
  mkdirSync(dirname(join(dist, target)), { recursive: true });
  copyFileSync(join(here, source), join(dist, target));
  console.log(`frontend: ${source} -> dist/${target}`);
}
for (const [target, source] of Object.entries(folders)) {
  cpSync(join(here, source), join(dist, target), { recursive: true });
  console.log(`frontend: ${source}/ -> dist/${target}/`);
}
