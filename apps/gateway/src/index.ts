export { createGateway, type Gateway, GATEWAY_VERSION } from './create-gateway.js';
export { loadConfig, type GatewayConfig } from './config.js';
export { openApiDocument } from './openapi.js';
