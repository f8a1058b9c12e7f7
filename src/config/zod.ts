import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

/**
 * Every schema of penguinmails is built with zod/mini, whose functions esbuild leaves out when
 * unused: classic zod is one ~220 KB block that every command reading a config compiled, and it
 * binds ~60 methods to each schema it builds (#21 start-up). zod/mini has no messages of its own
 * ("Invalid input"): a module that builds schemas imports this one, which sets the English
 * messages classic zod gives, once for all schemas.
 */
config(en());
