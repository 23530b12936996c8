export * from './schemas/index.js';
export { routes, type RouteSpec } from './schemas/routes.js';
