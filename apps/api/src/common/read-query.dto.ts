/**
 * The query of a GET that takes no parameters: any is refused (the ValidationPipe forbids
 * what a DTO does not declare). `?waitFor=` never reaches it: the WaitForInterceptor takes it.
 */
export class NoQueryDto {}
