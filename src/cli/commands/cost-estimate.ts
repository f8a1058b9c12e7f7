import { UserError } from '../../core/errors.js';
import type { Output } from '../output.js';

export async function run(_options: Record<string, unknown>, _output: Output): Promise<number> {
  throw new UserError('cost-estimate is not implemented yet');
}
