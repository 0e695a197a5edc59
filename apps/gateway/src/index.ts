export { createGateway, type Gateway, GATEWAY_VERSION } from './create-gateway.js';
export { configKeys, loadConfig, type GatewayConfig } from './config.js';
export { openApiDocument } from './openapi.js';
