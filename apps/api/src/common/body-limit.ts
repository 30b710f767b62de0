/** The largest request body the service reads (413 beyond it). */
export const BODY_LIMIT = 1024 * 1024;
