// Defaults shared by the clients and the scenario.
export const DEFAULT_API_URL = 'http://127.0.0.1:8080';
export const DEFAULT_TOPIC = 'cs-topic';
export const DEFAULT_RESULT_SECRET = 'wordcount-results';
