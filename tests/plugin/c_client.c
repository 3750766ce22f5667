/* A launcher written in C99 against the INSTALLED headroom.h (compiled as C by
 * installed_test.cc through pkg-config): picks a file among the glob in argv[1] and prints
 * the settings, one key=value per line. Exit 0 on success. */
#include <headroom/headroom.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(hr_client* client, hr_status status, const char* what) {
  char message[512];
  hr_client_last_error(client, message, sizeof message);
  fprintf(stderr, "%s: %s: %s\n", what, hr_status_str(status), message);
  hr_client_destroy(client);
  return 1;
}

int main(int argc, char** argv) {
  hr_client* client = NULL;
  hr_client_params params = hr_client_params_default();
  hr_request request = hr_request_default();
  hr_result* result = NULL;
  hr_choice choice;
  hr_status status;
  char file[1024];
  char quant[32];
  char k[16];
  char v[16];
  size_t alternatives = 0;

  if (argc != 2) return 2;
  if (hr_abi_version() / 10000 != HR_API_VERSION_MAJOR) return 3;
  /* NULL-safety holds from C as well. */
  if (hr_client_connect(NULL) != HR_STATUS_INVALID_ARGUMENT) return 4;
  params.timeout_ms = 5000;
  status = hr_client_create(&params, &client);
  if (status != HR_STATUS_OK) return 5;

  request.model_glob = argv[1];
  request.min_ctx = 4096;
  status = hr_recommend(client, &request, &result);
  if (status != HR_STATUS_OK) return fail(client, status, "hr_recommend");

  memset(&choice, 0, sizeof choice);
  choice.struct_size = sizeof choice;
  status = hr_result_choice(result, HR_PICK, &choice);
  if (status != HR_STATUS_OK) {
    hr_result_free(result);
    return fail(client, status, "hr_result_choice");
  }
  /* A buffer too small still tells the length needed. */
  if (hr_result_choice_string(result, HR_PICK, HR_CHOICE_FILE, NULL, 0) >= sizeof file) return 6;
  hr_result_choice_string(result, HR_PICK, HR_CHOICE_FILE, file, sizeof file);
  hr_result_choice_string(result, HR_PICK, HR_CHOICE_FILE_TYPE, quant, sizeof quant);
  hr_result_choice_string(result, HR_PICK, HR_CHOICE_CACHE_TYPE_K, k, sizeof k);
  hr_result_choice_string(result, HR_PICK, HR_CHOICE_CACHE_TYPE_V, v, sizeof v);
  hr_result_alternative_count(result, &alternatives);
  printf("file=%s\nquant=%s\nn_ctx=%u\nn_gpu_layers=%u\nctk=%s\nctv=%s\nfa=%d\n", file, quant,
         (unsigned)choice.n_ctx, (unsigned)choice.n_gpu_layers, k, v, choice.flash_attn ? 1 : 0);
  printf("alternatives=%lu\n", (unsigned long)alternatives);
  hr_result_free(result);
  hr_client_destroy(client);
  return 0;
}
