/* global process, console */
// npm `preinstall`: one line when npm itself runs on a Node older than the hub's. The hub never runs
// on that Node: `npm install` brings Node 24 (the `node` devDependency), and the npm scripts and
// `npx hub` (bin/hub.js) run on it.
// This script itself may already run on that Node 24 (npm puts node_modules/.bin first on PATH):
// npm's own Node is the one in its user agent.
const npmNode = /\bnode\/v?([0-9.]+)/.exec(process.env.npm_config_user_agent ?? '')?.[1] ?? process.versions.node;
if (Number(npmNode.split('.')[0]) < 24) {
  console.log(`yiwang-hub: npm runs on Node ${npmNode} here; the hub brings its own Node 24 (devDependency "node"), which every npm script and \`npx hub\` use.`);
}
