// The seed tutorial end to end against a running server; `npm start` (scripts/start.ts) calls runScenario.
export { runScenario } from './src/scenario/run-scenario.ts';
export { SCENARIO_ACCOUNTS } from './src/scenario/tutorial.ts';
