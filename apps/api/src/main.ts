import 'reflect-metadata';
import { hello } from '@app/event-store';
console.log(hello());
