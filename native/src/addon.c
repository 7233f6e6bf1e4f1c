/*
 * Node-API bindings of the batch-norm and activation kernels. Every array is a Float32Array (in otoc, views of
 * the tfjs wasm heap, so results are written where tfjs reads them); shapes are checked here.
 */
#include <node_api.h>
#include <stddef.h>

#include "activation.h"
#include "batchnorm.h"

#define MAX_ARGS 10

typedef struct {
  napi_env env;
  napi_value argv[MAX_ARGS];
  size_t argc;
} Call;

static int read_call(napi_env env, napi_callback_info info, size_t expected, Call *call) {
  call->env = env;
  call->argc = MAX_ARGS;
  if (napi_get_cb_info(env, info, &call->argc, call->argv, NULL, NULL) != napi_ok) return 0;
  if (call->argc != expected) {
    napi_throw_type_error(env, NULL, "wrong number of arguments");
    return 0;
  }
  return 1;
}

/* The float32 data of argument i, with its element count in *length; NULL (with a pending error) otherwise. */
static float *floats(Call *call, size_t i, size_t *length) {
  napi_typedarray_type type;
  void *data;
  bool is_typed = false;
  napi_is_typedarray(call->env, call->argv[i], &is_typed);
  if (!is_typed || napi_get_typedarray_info(call->env, call->argv[i], &type, length, &data, NULL, NULL) != napi_ok ||
      type != napi_float32_array) {
    napi_throw_type_error(call->env, NULL, "expected a Float32Array");
    return NULL;
  }
  return data;
}

/* Argument i as a number; NaN with a pending error when it is not one. */
static double number(Call *call, size_t i) {
  double value;
  if (napi_get_value_double(call->env, call->argv[i], &value) != napi_ok) {
    napi_throw_type_error(call->env, NULL, "expected a number");
    return 0.0 / 0.0;
  }
  return value;
}

/* Float32Array argument i of exactly `length` elements; NULL (with a pending error) otherwise. */
static float *floats_of(Call *call, size_t i, size_t length) {
  size_t actual;
  float *data = floats(call, i, &actual);
  if (data && actual != length) {
    napi_throw_range_error(call->env, NULL, "array length does not match the data's shape");
    return NULL;
  }
  return data;
}

/* The channel count (argument i) and the row count of data of `length` elements; 0 on error. */
static size_t channel_count(Call *call, size_t i, size_t length, size_t *rows) {
  double c = number(call, i);
  if (!(c >= 1) || (double)(size_t)c != c || length % (size_t)c != 0) {
    napi_throw_range_error(call->env, NULL, "the channel count must be a positive integer dividing the data's length");
    return 0;
  }
  *rows = length / (size_t)c;
  return (size_t)c;
}

static napi_value done(Call *call, int ok) {
  if (!ok) napi_throw_error(call->env, NULL, "out of memory");
  return NULL;
}

/* moments(x, channels, mean, variance) */
static napi_value moments(napi_env env, napi_callback_info info) {
  Call call;
  size_t length, rows, channels;
  float *x, *mean, *variance;
  if (!read_call(env, info, 4, &call) || !(x = floats(&call, 0, &length)) ||
      !(channels = channel_count(&call, 1, length, &rows)) || !(mean = floats_of(&call, 2, channels)) ||
      !(variance = floats_of(&call, 3, channels)))
    return NULL;
  return done(&call, bn_moments(x, rows, channels, mean, variance));
}

/* apply(x, channels, mean, variance, gamma, beta, eps, y) */
static napi_value apply(napi_env env, napi_callback_info info) {
  Call call;
  size_t length, rows, channels;
  float *x, *mean, *variance, *gamma, *beta, *y;
  if (!read_call(env, info, 8, &call) || !(x = floats(&call, 0, &length)) ||
      !(channels = channel_count(&call, 1, length, &rows)) || !(mean = floats_of(&call, 2, channels)) ||
      !(variance = floats_of(&call, 3, channels)) || !(gamma = floats_of(&call, 4, channels)) ||
      !(beta = floats_of(&call, 5, channels)) || !(y = floats_of(&call, 7, length)))
    return NULL;
  double eps = number(&call, 6);
  if (eps != eps) return NULL;
  return done(&call, bn_apply(x, rows, channels, mean, variance, gamma, beta, (float)eps, y));
}

/* gradient(dy, x, channels, mean, variance, gamma, eps, dx, dgamma, dbeta) */
static napi_value gradient(napi_env env, napi_callback_info info) {
  Call call;
  size_t length, rows, channels;
  float *dy, *x, *mean, *variance, *gamma, *dx, *dgamma, *dbeta;
  if (!read_call(env, info, 10, &call) || !(dy = floats(&call, 0, &length)) || !(x = floats_of(&call, 1, length)) ||
      !(channels = channel_count(&call, 2, length, &rows)) || !(mean = floats_of(&call, 3, channels)) ||
      !(variance = floats_of(&call, 4, channels)) || !(gamma = floats_of(&call, 5, channels)) ||
      !(dx = floats_of(&call, 7, length)) || !(dgamma = floats_of(&call, 8, channels)) ||
      !(dbeta = floats_of(&call, 9, channels)))
    return NULL;
  double eps = number(&call, 6);
  if (eps != eps) return NULL;
  return done(&call, bn_gradient(dy, x, rows, channels, mean, variance, gamma, (float)eps, dx, dgamma, dbeta));
}

/* reluGradient(dy, y, dx) */
static napi_value relu_gradient_of(napi_env env, napi_callback_info info) {
  Call call;
  size_t length;
  float *dy, *y, *dx;
  if (!read_call(env, info, 3, &call) || !(dy = floats(&call, 0, &length)) || !(y = floats_of(&call, 1, length)) ||
      !(dx = floats_of(&call, 2, length)))
    return NULL;
  relu_gradient(dy, y, length, dx);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"moments", NULL, moments, NULL, NULL, NULL, napi_enumerable, NULL},
      {"apply", NULL, apply, NULL, NULL, NULL, napi_enumerable, NULL},
      {"gradient", NULL, gradient, NULL, NULL, NULL, napi_enumerable, NULL},
      {"reluGradient", NULL, relu_gradient_of, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof(properties) / sizeof(properties[0]), properties);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
