/** RFC 6455 framing on an HTTP/1.1 upgrade: the cases of frame-rules.ts. */
import { frameRuleTests } from './frame-rules.js';
import { H1_WIRE } from '../../helpers/ws.js';

frameRuleTests(H1_WIRE);
