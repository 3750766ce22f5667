/* Built by find_package/CMakeLists.txt: the library's ABI matches the installed header. */
#include <headroom/headroom.h>
#include <stdio.h>

int main(void) {
  hr_client* client = NULL;
  const unsigned version = (unsigned)hr_abi_version();
  printf("abi %u header %u\n", version, (unsigned)HR_API_VERSION);
  if (version != HR_API_VERSION) return 1;
  if (hr_client_create(NULL, &client) != HR_STATUS_OK) return 2;
  hr_client_destroy(client);
  return 0;
}
